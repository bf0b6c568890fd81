// /api/audit/status, /api/policy, /api/connections, /api/me: what the gateway runs with. Connections come from
// the config through ConnectionSummary, which has no field that could hold a credential.
import { Hono } from "hono";
import { logCheckpoints, verifyCacheFor } from "./audit-status.ts";
import type { AdminEnv } from "./auth.ts";
import { requireRole } from "./auth.ts";
import type { AdminDeps } from "./deps.ts";
import { errorResponse } from "./http-error.ts";
import { CAN } from "./roles.ts";
import { checkpointView } from "./views.ts";

export function infoRoutes(deps: AdminDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const verify = verifyCacheFor(deps);
  const ourKey = Buffer.from(deps.gatewayPublicKey).toString("hex");

  app.get("/me", (c) => {
    const p = c.get("principal");
    return c.json({
      subject: p.identity.subject,
      issuer: p.identity.issuer,
      groups: p.identity.groups,
      roles: p.roles,
      via: p.via,
    });
  });

  const auditStatus = async (fresh: boolean) => {
    const [status, logs] = await Promise.all([verify.status({ fresh }), logCheckpoints(deps.store)]);
    const latest = logs.map(({ log: l, count, latest: last }) => ({
      log_id: l.logId,
      ours: l.logId === deps.logId,
      key_matches_gateway: Buffer.from(l.publicKey).toString("hex") === ourKey,
      checkpoints: count,
      latest_checkpoint: last ? checkpointView(last) : null,
    }));
    return {
      verify: {
        ok: status.report?.ok ?? null,
        checked_at: status.checkedAt,
        took_ms: status.tookMs,
        running: status.running,
        error: status.error,
        logs:
          status.report?.logs.map((r) => ({
            log_id: r.logId,
            ok: r.ok,
            events: r.events,
            checkpoints: r.checkpoints,
            recordings: r.recordings,
            uncheckpointed: r.uncheckpointed,
            first_failure: r.firstFailure ?? null,
          })) ?? [],
      },
      logs: latest,
      counts: await deps.store.counts(),
    };
  };

  app.get("/audit/status", requireRole(CAN.read), async (c) => c.json(await auditStatus(false)));
  app.post("/audit/verify", requireRole(CAN.read), async (c) => c.json(await auditStatus(true)));

  app.get("/policy", requireRole(CAN.read), (c) => {
    const hash = deps.policy.hash();
    return c.json({
      loaded: hash !== null,
      hash,
      loaded_at: deps.policy.loadedAt(),
      source: deps.policy.source ?? "shipped default pack",
    });
  });

  app.get("/connections", requireRole(CAN.read), (c) =>
    c.json({
      items: deps.connections.map((x) => ({
        name: x.name,
        type: x.type,
        target: x.target,
        user: x.user ?? null,
        tls: x.tls ?? null,
        allow_groups: x.allowGroups,
        labels: x.labels,
        access: x.access
          ? {
              mode: x.access.mode,
              approvers: x.access.approvers,
              min_approvals: x.access.minApprovals,
              max_duration_ms: x.access.maxDurationMs,
              review_timeout_ms: x.access.reviewTimeoutMs,
            }
          : null,
        idle_timeout_ms: x.idleTimeoutMs,
        max_session_ms: x.maxSessionMs,
      })),
    }),
  );

  app.onError((err, c) => errorResponse(c, err));
  return app;
}
