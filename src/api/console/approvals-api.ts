// The console's approvals endpoints under /console/api/approvals: the inbox feed the page polls, approve and
// deny with a reason. The public approvals API (/api/approvals, src/api/approvals.ts) takes Bearer tokens for
// the CLI; these take the console's cookie and add the console roles on top: reading needs any role,
// deciding needs admin or approver, and then the approvals module's own rules (the connection's approver
// groups, never one's own request) still apply. Approver-only users see what they may decide.
import { Hono } from "hono";
import { CustosError } from "../../core/errors.ts";
import type { Identity } from "../../core/identity.ts";
import type { ApprovalStatus, ApprovalView } from "../admin/approvals-port.ts";
import { type AdminEnv, authenticate, type Principal, requireRole } from "../admin/auth.ts";
import { parseLimit } from "../admin/cursor.ts";
import type { AdminDeps } from "../admin/deps.ts";
import { badRequest, errorResponse, notFound } from "../admin/http-error.ts";
import { allowed, CAN } from "../admin/roles.ts";

const STATUSES: ApprovalStatus[] = ["pending", "approved", "denied", "expired", "abandoned", "revoked"];
const MAX_REASON = 1_000;

export function consoleApprovalsApi(deps: AdminDeps): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.use("*", authenticate(deps));
  const port = () => {
    if (!deps.approvals)
      throw new CustosError("policy.unavailable", "approvals are not enabled on this gateway");
    return deps.approvals;
  };

  app.get("/", requireRole(CAN.readApprovals), async (c) => {
    const status = c.req.query("status");
    const kind = c.req.query("kind");
    if (status !== undefined && !STATUSES.includes(status as ApprovalStatus))
      throw badRequest(`status must be one of ${STATUSES.join(", ")}`);
    if (kind !== undefined && kind !== "statement" && kind !== "access")
      throw badRequest("kind must be statement or access");
    const items = await port().list({
      status: status as ApprovalStatus | undefined,
      kind: kind as "statement" | "access" | undefined,
      limit: parseLimit(c.req.query("limit"), 100, 1_000),
    });
    const p = c.get("principal");
    return c.json({ items: items.filter((a) => visible(a, p)).map(approvalJson) });
  });

  app.get("/:id", requireRole(CAN.readApprovals), async (c) => {
    const v = await port().get(c.req.param("id"));
    return v && visible(v, c.get("principal")) ? c.json(approvalJson(v)) : notFound(c, "approval request");
  });

  for (const verdict of ["approve", "deny"] as const) {
    app.post(`/:id/${verdict}`, requireRole(CAN.decide), async (c) => {
      const reason = await readReason(c.req.raw);
      const v = await port().decide(c.req.param("id"), verdict, reason, c.get("principal").identity);
      return c.json(approvalJson(v));
    });
  }

  app.onError((err, c) => errorResponse(c, err));
  return app;
}

/** Admins and auditors oversee every request; an approver sees those its groups may decide. */
export function visible(a: ApprovalView, p: Principal): boolean {
  if (allowed(p.roles, CAN.read)) return true;
  return mayDecide(a, p.identity);
}

export const mayDecide = (a: ApprovalView, who: Identity) =>
  who.groups.some((g) => a.approverGroups.includes(g));

/** Body: JSON {"reason": "..."} or a form field reason (the console's no-script fallback). */
async function readReason(req: Request): Promise<string> {
  const type = req.headers.get("content-type") ?? "";
  let reason: unknown;
  try {
    if (type.startsWith("application/json"))
      reason = ((await req.json()) as { reason?: unknown } | null)?.reason;
    else if (type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/form-data"))
      reason = (await req.formData()).get("reason");
    else throw badRequest('send JSON {"reason": "..."}');
  } catch (err) {
    if (err instanceof CustosError) throw err;
    throw badRequest("the body is not valid JSON");
  }
  if (typeof reason !== "string" || !reason.trim())
    throw new CustosError("approval.invalid", "a reason is required");
  if (reason.length > MAX_REASON)
    throw new CustosError("approval.invalid", `a reason is at most ${MAX_REASON} characters`);
  return reason.trim();
}

export function approvalJson(v: ApprovalView) {
  return {
    id: v.id,
    kind: v.kind,
    status: v.status,
    connection: v.connection,
    requester: v.requester,
    session_id: v.sessionId,
    statement: v.statement,
    rule: v.rule,
    reason: v.reason,
    duration_ms: v.durationMs,
    min_approvals: v.minApprovals,
    approver_groups: v.approverGroups,
    created_at: v.createdAt,
    deadline: v.deadline,
    decided_at: v.decidedAt,
    grant_expires_at: v.grantExpiresAt,
    decisions: v.decisions,
  };
}
