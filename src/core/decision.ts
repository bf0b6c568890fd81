// Decisions are values: returned, never thrown. Anything that fails on the way to one becomes a deny.

export type Action = "allow" | "deny" | "review";
export type RecordMode = "sync" | "buffered";

export interface MaskRule {
  /** A result column name or table.column, or a detector name when `detector` is set. */
  column?: string;
  detector?: string;
  method: "redact" | "partial" | "hash" | "null";
}

export interface Decision {
  action: Action;
  reason: string;
  /** The rule that decided, for the audit log and the client's error message. */
  rule: string;
  /** sync: hold the command until its audit record is committed (durable before forwarded). */
  record: RecordMode;
  mask: MaskRule[];
  /** Set by the policy decider: each statement's kind and normalized fingerprint, for the audit event. */
  statements?: { kind: string; fingerprint: string }[];
  /**
   * Set by the SQL decider: one plain DML or SELECT statement whose every effect takes hold only when its
   * transaction commits (src/sql/transactional.ts). A protocol may run it while its record is being made
   * durable and hold only its commit. Not recorded; absent means the statement waits before it is forwarded.
   */
  transactional?: true;
  /**
   * Set by the SQL decider: every function call is on the vetted list of built-ins without effects beyond
   * their result, and nothing runs unseen SQL (src/sql/transactional.ts). Absent, a read counts as a write
   * for `record` (its record durable before it is forwarded). Not recorded.
   */
  vettedCalls?: true;
  /** SHA-256 of the policy bundle that decided, for the audit event. */
  bundle?: string;
  /**
   * SHA-256 (hex) of the policy input's JSON bytes as evaluated; the bytes themselves are in the audit log
   * as a policy.input event, so `custos policy explain` can evaluate them again. A cached decision carries
   * the digest of the input it was first decided for.
   */
  inputDigest?: string;
  /**
   * A refusal that is not a permission matter (the gateway's parser rejected the text): the SQLSTATE,
   * message, 1-based position and hint the client gets instead of a permission denial.
   */
  error?: { sqlstate: string; message: string; position?: number; hint?: string };
  /** Set when a human decided a `review`: the approval request and how it ended. */
  approval?: { id: string; status: string };
  /** A review the approvals flow refused (no approvers, store down): the review the policy asked for. */
  review?: { rule: string; reason: string };
}

export function deny(reason: string, rule: string): Decision {
  return { action: "deny", reason, rule, record: "sync", mask: [] };
}
