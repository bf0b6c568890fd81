// Adapts the approvals service (src/approvals/service.ts) to the admin API's ApprovalsPort. Typed
// structurally against the audit store's approval tables, so the API does not reach into the service's
// internals: any object with these three methods over those rows plugs in.
import type { approvalDecisions, approvalRequests } from "../../audit/schema-pg.ts";
import type { Identity } from "../../core/identity.ts";
import type { ApprovalStatus, ApprovalsPort, ApprovalView } from "./approvals-port.ts";

type RequestRow = typeof approvalRequests.$inferSelect;
type DecisionRow = typeof approvalDecisions.$inferSelect;
type RequestWithDecisions = RequestRow & { decisions: DecisionRow[] };

export interface ApprovalServiceLike {
  list(opts: {
    status?: ApprovalStatus;
    kind?: "statement" | "access";
    limit?: number;
  }): Promise<RequestWithDecisions[]>;
  get(id: string): Promise<RequestWithDecisions | undefined>;
  decide(
    id: string,
    approver: Identity,
    verdict: "approve" | "deny",
    reason: string,
  ): Promise<RequestWithDecisions>;
}

export function approvalsPort(service: ApprovalServiceLike): ApprovalsPort {
  return {
    async list(opts) {
      return (await service.list(opts)).map(toView);
    },
    async get(id) {
      const row = await service.get(id);
      return row ? toView(row) : undefined;
    },
    async decide(id, verdict, reason, approver) {
      return toView(await service.decide(id, approver, verdict, reason));
    },
  };
}

export function toView(r: RequestWithDecisions): ApprovalView {
  return {
    id: r.id,
    kind: r.kind === "access" ? "access" : "statement",
    status: r.status as ApprovalStatus,
    connection: r.connection,
    requester: r.requesterSubject,
    sessionId: r.sessionId,
    statement: r.statementText,
    rule: r.rule,
    reason: r.reason,
    durationMs: r.durationMs,
    minApprovals: r.minApprovals,
    approverGroups: parseList(r.approverGroups),
    createdAt: r.createdAt,
    deadline: r.deadline,
    decidedAt: r.decidedAt,
    grantExpiresAt: r.grantExpiresAt,
    decisions: r.decisions.map((d) => ({
      approver: d.approverSubject,
      verdict: d.verdict as "approve" | "deny" | "revoke",
      reason: d.reason,
      time: d.time,
    })),
  };
}

function parseList(text: string): string[] {
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}
