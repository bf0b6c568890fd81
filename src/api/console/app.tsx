// The web console under /console: server-rendered pages (hono/jsx) over the same dependencies as the admin
// API, one stylesheet and one script from memory, a strict CSP. Pages that show recordings write the same
// recording.read audit event the API does.
/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { checkSessions } from "../../audit/session-check.ts";
import { terminalFramesOf } from "../../protocols/terminal-frames.ts";
import { castFromFrames } from "../../recording/asciicast.ts";
import type { ApprovalView } from "../admin/approvals-port.ts";
import { logCheckpoints, verifyCacheFor } from "../admin/audit-status.ts";
import type { Principal } from "../admin/auth.ts";
import { resolvePrincipal } from "../admin/auth.ts";
import { parseTime } from "../admin/cursor.ts";
import type { AdminDeps } from "../admin/deps.ts";
import { queryEvents } from "../admin/event-query.ts";
import { sessionFrames } from "../admin/recording.ts";
import { buildReplay } from "../admin/replay.ts";
import { allowed, CAN } from "../admin/roles.ts";
import { COOKIE_NAME, sessionExpired } from "../admin/session-cookie.ts";
import { flagsOf, type SessionFlag, sessionFactsReader } from "../admin/session-facts.ts";
import { querySessions } from "../admin/session-query.ts";
import { consoleApprovalsApi, mayDecide, visible } from "./approvals-api.ts";
import { ApprovalsPage } from "./approvals-page.tsx";
import { CSS, JS } from "./assets.ts";
import { AuditPage } from "./audit-page.tsx";
import { EventsPage } from "./events-page.tsx";
import { ErrorPage } from "./layout.tsx";
import { loginRoutes } from "./login-routes.tsx";
import { ReplayPage } from "./replay-page.tsx";
import { SessionsPage } from "./sessions-page.tsx";
import { PLAYER_JS } from "./terminal-player.ts";

type Env = { Variables: { principal: Principal } };

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function createConsole(deps: AdminDeps): Hono<Env> {
  const app = new Hono<Env>();
  const now = deps.now ?? Date.now;
  const facts = sessionFactsReader(deps.store);

  app.use("*", async (c, next) => {
    await next();
    c.header("Content-Security-Policy", CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
  });
  app.get("/static/app.css", (c) =>
    c.body(CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "max-age=300" }),
  );
  app.get("/static/app.js", (c) =>
    c.body(JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "max-age=300" }),
  );
  app.get("/static/terminal-player.js", (c) =>
    c.body(PLAYER_JS, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "max-age=300",
    }),
  );
  app.route("/", loginRoutes(deps));
  app.route("/api/approvals", consoleApprovalsApi(deps));

  app.use("*", async (c, next) => {
    let p: Principal | null = null;
    try {
      p = await resolvePrincipal(c, deps);
    } catch {
      p = null;
    }
    if (!p) {
      const cookie = getCookie(c, COOKIE_NAME);
      const expired =
        cookie !== undefined && sessionExpired(cookie, deps.cookieKey, (deps.now ?? Date.now)());
      return c.redirect(expired ? "/console/login?expired=1" : "/console/login", 303);
    }
    if (p.roles.length === 0)
      return c.html(<ErrorPage title="Not allowed" message="This identity has no console role." />, 403);
    c.set("principal", p);
    await next();
  });

  const forbid = (c: Context<Env>, needed: readonly string[]) =>
    c.html(
      <ErrorPage
        principal={c.get("principal")}
        title="Not allowed"
        message={`This page needs one of the roles: ${needed.join(", ")}.`}
      />,
      403,
    );

  app.get("/", (c) =>
    c.redirect(allowed(c.get("principal").roles, CAN.read) ? "/console/sessions" : "/console/approvals", 303),
  );

  app.get("/sessions", async (c) => {
    const p = c.get("principal");
    if (!allowed(p.roles, CAN.read)) return forbid(c, CAN.read);
    const q = c.req.query();
    const filter: Record<string, string> = {};
    for (const k of ["subject", "connection", "from", "to", "outcome", "flag", "text"])
      if (q[k]) filter[k] = q[k]!;
    let page: Awaited<ReturnType<typeof querySessions>>;
    try {
      page = await querySessions(
        deps.store,
        {
          subject: filter.subject,
          connection: filter.connection,
          // datetime-local has no zone: read as UTC, like every time the console shows.
          from: parseTime("from", localToIso(filter.from)),
          to: parseTime("to", localToIso(filter.to)),
          outcome: filter.outcome,
          flag: filter.flag as SessionFlag | undefined,
          text: filter.text,
        },
        { limit: 50, cursor: q.cursor || undefined, facts },
      );
    } catch (err) {
      return c.html(<ErrorPage principal={p} title="Bad filter" message={(err as Error).message} />, 400);
    }
    const rows = await checkSessions(deps.store, page.items);
    const flags = await Promise.all(rows.map(async (r) => flagsOf(await facts(r.row))));
    return c.html(
      <SessionsPage
        principal={p}
        rows={rows}
        flags={flags}
        filter={filter}
        nextCursor={page.nextCursor}
        connections={deps.connections.map((x) => x.name)}
      />,
    );
  });

  app.get("/sessions/:id", async (c) => {
    const p = c.get("principal");
    const id = c.req.param("id");
    // An approver without the read role may open the session of a request waiting on them (that session
    // only), so they decide with its context; the replay is read-only for everyone.
    let asApproverOf: string | null = null;
    if (!allowed(p.roles, CAN.read)) {
      const waiting = deps.approvals
        ? (await deps.approvals.list({ status: "pending", limit: 200 })).find(
            (a) => a.sessionId === id && mayDecide(a, p.identity),
          )
        : undefined;
      if (!waiting) return forbid(c, CAN.read);
      asApproverOf = waiting.id;
    }
    const stored = await deps.store.getSession(id);
    if (!stored)
      return c.html(<ErrorPage principal={p} title="Not found" message={`No session ${id}.`} />, 404);
    const [checked] = await checkSessions(deps.store, [stored]);
    const s = checked?.row ?? stored;
    const [events, frames] = await Promise.all([deps.store.sessionEvents(id), sessionFrames(deps, s)]);
    deps.audit.event({
      type: "recording.read",
      time: now(),
      sessionId: id,
      data: {
        who: p.identity.subject,
        issuer: p.identity.issuer,
        roles: p.roles,
        via: p.via,
        what: "console.replay",
        ...(asApproverOf ? { as_approver_of: asApproverOf } : {}),
      },
    });
    return c.html(
      <ReplayPage
        principal={p}
        session={s}
        steps={buildReplay(events, frames, s.startedAt)}
        cast={castFromFrames(terminalFramesOf(s.protocol, frames))}
        differs={checked?.differs ?? []}
        asApproverOf={asApproverOf}
      />,
    );
  });

  app.get("/events", async (c) => {
    const p = c.get("principal");
    if (!allowed(p.roles, CAN.read)) return forbid(c, CAN.read);
    const q = c.req.query();
    const filter: Record<string, string> = {};
    for (const k of ["type", "subject", "session", "from", "to", "limit"]) if (q[k]) filter[k] = q[k]!;
    const limit = Math.min(200, Math.max(1, Number(filter.limit ?? 50) || 50));
    const logs = (await deps.store.logs()).map((l) => ({ logId: l.logId, ours: l.logId === deps.logId }));
    const logId = q.log && logs.some((l) => l.logId === q.log) ? q.log : deps.logId;
    const before = q.before ? Number(q.before) : undefined;
    let page: Awaited<ReturnType<typeof queryEvents>>;
    try {
      if (before !== undefined && (!Number.isSafeInteger(before) || before < 0))
        throw new Error("before must be a sequence number");
      page = await queryEvents(
        deps.store,
        logId,
        {
          type: filter.type,
          subject: filter.subject,
          sessionId: filter.session,
          from: parseTime("from", localToIso(filter.from)),
          to: parseTime("to", localToIso(filter.to)),
        },
        { limit, before },
      );
    } catch (err) {
      return c.html(<ErrorPage principal={p} title="Bad filter" message={(err as Error).message} />, 400);
    }
    return c.html(
      <EventsPage
        principal={p}
        logs={logs}
        logId={logId}
        filter={filter}
        items={page.items}
        nextCursor={page.nextCursor}
      />,
    );
  });

  app.get("/approvals", async (c) => {
    const p = c.get("principal");
    if (!allowed(p.roles, CAN.readApprovals)) return forbid(c, CAN.readApprovals);
    let pending: ApprovalView[] = [];
    let recent: ApprovalView[] = [];
    let unavailable: string | null = null;
    if (!deps.approvals) unavailable = "Approvals are not enabled on this gateway.";
    else {
      pending = (await deps.approvals.list({ status: "pending", limit: 200 })).filter((a) => visible(a, p));
      recent = (await deps.approvals.list({ limit: 50 })).filter(
        (a) => a.status !== "pending" && visible(a, p),
      );
    }
    // Approval rows are checked by audit verify's projection pass (cached): flagged rows carry a warning.
    const verified = await verifyCacheFor(deps).status({ waitMs: 0 });
    const flagged = new Map(
      (verified.report?.projections?.rows ?? [])
        .filter((m) => m.table === "approval_requests")
        .map((m) => [m.id, m.fields]),
    );
    return c.html(
      <ApprovalsPage
        principal={p}
        pending={pending}
        recent={recent}
        unavailable={unavailable}
        flagged={flagged}
      />,
    );
  });

  app.get("/audit", async (c) => {
    const p = c.get("principal");
    if (!allowed(p.roles, CAN.read)) return forbid(c, CAN.read);
    const [verify, logs, counts] = await Promise.all([
      verifyCacheFor(deps).status(),
      logCheckpoints(deps.store),
      deps.store.counts(),
    ]);
    const summaries = logs.map(({ log: l, count, latest: last }) => ({
      logId: l.logId,
      ours: l.logId === deps.logId,
      checkpoints: count,
      latest: last
        ? { size: last.size, rootHash: Buffer.from(last.rootHash).toString("hex"), time: last.time }
        : null,
    }));
    return c.html(
      <AuditPage
        principal={p}
        verify={verify}
        logs={summaries}
        counts={{ ...counts }}
        policy={{
          hash: deps.policy.hash(),
          loadedAt: deps.policy.loadedAt(),
          source: deps.policy.source ?? "shipped default pack",
        }}
        connections={deps.connections}
      />,
    );
  });

  app.onError((err, c) =>
    c.html(
      <ErrorPage
        title="Error"
        message={err instanceof Error && "code" in err ? err.message : "internal error"}
      />,
      500,
    ),
  );
  return app;
}

function localToIso(v: string | undefined): string | undefined {
  if (!v) return undefined;
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v) ? `${v}Z` : v;
}
