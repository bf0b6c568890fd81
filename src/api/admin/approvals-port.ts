// The admin API's view of the approvals module (issue 5): list requests, show one, approve or deny with a
// reason. The gateway adapts src/approvals' service to this shape (approvals-adapter.ts); until it exists
// the approvals routes answer 503 rather than pretend.
import type { Identity } from "../../core/identity.ts";

export type ApprovalStatus = "pending" | "approved" | "denied" | "expired" | "abandoned" | "revoked";

export interface ApprovalDecisionView {
  approver: string;
  verdict: "approve" | "deny" | "revoke";
  reason: string;
  time: number;
}

export interface ApprovalView {
  id: string;
  kind: "statement" | "access";
  status: ApprovalStatus;
  connection: string;
  requester: string;
  sessionId: string | null;
  statement: string | null;
  rule: string | null;
  reason: string;
  durationMs: number | null;
  minApprovals: number;
  approverGroups: string[];
  createdAt: number;
  deadline: number;
  decidedAt: number | null;
  grantExpiresAt: number | null;
  decisions: ApprovalDecisionView[];
}

export interface ApprovalsPort {
  list(opts: {
    status?: ApprovalStatus;
    kind?: "statement" | "access";
    limit: number;
  }): Promise<ApprovalView[]>;
  get(id: string): Promise<ApprovalView | undefined>;
  /** Throws CustosError approval.* (forbidden, not_found, conflict, invalid) when the decision is refused. */
  decide(id: string, verdict: "approve" | "deny", reason: string, approver: Identity): Promise<ApprovalView>;
}
