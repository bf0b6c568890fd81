// The approvals API under /api: list and show requests, approve, deny and revoke them, file an access
// request. Every call carries `Authorization: Bearer <token>`, checked by the same authenticator as the
// database listeners; approvers see the requests they may decide, everyone sees their own.
import { type Context, Hono, type Next } from "hono";
import type { RequestStatus, RequestView } from "../approvals/repository.ts";
import type { Verdict } from "../approvals/rules.ts";
import type { ApprovalService } from "../approvals/service.ts";
import { parseDuration } from "../config/duration.ts";
import { CustosError, type ErrorCode } from "../core/errors.ts";
import type { Identity } from "../core/identity.ts";
import type { Authenticator } from "../identity/authenticator.ts";

export interface ApprovalsApiOptions {
  approvals: ApprovalService;
  authenticator: Authenticator;
}

const STATUSES = new Set(["pending", "approved", "denied", "expired", "abandoned", "revoked"]);

const HTTP_STATUS: Partial<Record<ErrorCode, 400 | 401 | 403 | 404 | 409 | 503>> = {
  "approval.invalid": 400,
  "approval.forbidden": 403,
  "access.forbidden": 403,
  "approval.not_found": 404,
  "access.unknown_connection": 404,
  "approval.conflict": 409,
  "audit.unavailable": 503,
  "identity.jwks_unavailable": 503,
};

type Env = { Variables: { identity: Identity } };

export function approvalsApi(opts: ApprovalsApiOptions): Hono<Env> {
  const app = new Hono<Env>();
  const { approvals } = opts;

  app.onError((err, c) => {
    const e = err instanceof CustosError ? err : new CustosError("internal", "internal error");
    const status = HTTP_STATUS[e.code] ?? (e.code.startsWith("identity.") ? 401 : 500);
    return c.json(
      { error: { code: e.code, message: e.code === "internal" ? "internal error" : e.message } },
      status,
    );
  });

  // Scoped to these routes: other handlers mounted under /api keep their own access rules.
  app.use("/approvals", authenticate);
  app.use("/approvals/*", authenticate);
  app.use("/access-requests", authenticate);
  async function authenticate(c: Context<Env>, next: Next): Promise<void> {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new CustosError("identity.missing", "send Authorization: Bearer <token>");
    const auth = await opts.authenticator.authenticate(match[1]!);
    if (!auth.ok) throw auth.error;
    c.set("identity", auth.identity);
    await next();
  }

  app.get("/approvals", async (c) => {
    const status = c.req.query("status");
    const kind = c.req.query("kind");
    if (status !== undefined && !STATUSES.has(status)) throw invalid(`unknown status "${status}"`);
    if (kind !== undefined && kind !== "statement" && kind !== "access")
      throw invalid(`unknown kind "${kind}"`);
    const limit = Number(c.req.query("limit") ?? 100);
    if (!Number.isInteger(limit) || limit < 1) throw invalid("limit must be a positive integer");
    const rows = await approvals.list({ status: status as RequestStatus | undefined, kind, limit });
    const me = c.get("identity");
    return c.json({ requests: rows.filter((r) => visible(r, me)).map(view) });
  });

  app.get("/approvals/:id", async (c) => {
    const row = await approvals.get(c.req.param("id"));
    if (!row || !visible(row, c.get("identity"))) throw notFound(c.req.param("id"));
    return c.json(view(row));
  });

  for (const verdict of ["approve", "deny", "revoke"] as const satisfies Verdict[]) {
    app.post(`/approvals/:id/${verdict}`, async (c) => {
      const body = await jsonBody(c.req.raw);
      const reason = typeof body.reason === "string" ? body.reason : "";
      const id = c.req.param("id");
      const existing = await approvals.get(id);
      if (!existing) throw notFound(id);
      const row = await approvals.decide(id, c.get("identity"), verdict, reason);
      return c.json(view(row));
    });
  }

  app.post("/access-requests", async (c) => {
    const body = await jsonBody(c.req.raw);
    if (typeof body.connection !== "string" || !body.connection) throw invalid("connection is required");
    const durationMs =
      typeof body.duration === "string"
        ? parseDuration(body.duration)
        : typeof body.duration_ms === "number"
          ? body.duration_ms
          : null;
    if (durationMs === null) throw invalid('duration is required, e.g. "30m"');
    const reason = typeof body.reason === "string" ? body.reason : "";
    const row = await approvals.requestAccess(c.get("identity"), body.connection, durationMs, reason);
    return c.json(view(row), 201);
  });

  return app;
}

async function jsonBody(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (text.length > 64 * 1024) throw invalid("request body too large");
  if (!text) return {};
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw invalid("expected a JSON object body");
}

const invalid = (message: string) => new CustosError("approval.invalid", message);
const notFound = (id: string) => new CustosError("approval.not_found", `no approval request ${id}`);

/** Requesters see their own requests; members of a request's approver groups see it too. */
function visible(r: RequestView, me: Identity): boolean {
  if (r.requesterSubject === me.subject && r.requesterIssuer === me.issuer) return true;
  const groups = JSON.parse(r.approverGroups) as string[];
  return me.groups.some((g) => groups.includes(g));
}

export function view(r: RequestView, now = Date.now()) {
  const ended = r.kind === "access" && r.status === "approved" && (r.grantExpiresAt ?? 0) <= now;
  return {
    id: r.id,
    kind: r.kind,
    status: ended ? "expired" : r.status,
    connection: r.connection,
    requester: {
      subject: r.requesterSubject,
      issuer: r.requesterIssuer,
      groups: JSON.parse(r.requesterGroups) as string[],
      kind: r.requesterKind,
    },
    session_id: r.sessionId,
    statement: r.statementText
      ? { text: r.statementText, hash: r.statementHash, params: r.params ? JSON.parse(r.params) : null }
      : null,
    rule: r.rule,
    reason: r.reason,
    approver_groups: JSON.parse(r.approverGroups) as string[],
    min_approvals: r.minApprovals,
    duration_ms: r.durationMs,
    created_at: r.createdAt,
    deadline: r.deadline,
    decided_at: r.decidedAt,
    grant_expires_at: r.grantExpiresAt,
    consumed_at: r.consumedAt,
    ended_reason: r.endedReason,
    decisions: r.decisions.map((d) => ({
      approver: d.approverSubject,
      issuer: d.approverIssuer,
      groups: JSON.parse(d.approverGroups) as string[],
      amr: d.amr ? (JSON.parse(d.amr) as string[]) : null,
      verdict: d.verdict,
      reason: d.reason,
      time: d.time,
    })),
  };
}
