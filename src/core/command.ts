// A command as the protocol saw it, before any decision. Protocol-neutral; `statements` appears once
// the SQL classifier (policy issue) fills it.

export interface Command {
  protocol: string;
  text: string;
  /** Extended protocol: named prepared statement, if any. */
  statementName?: string;
  /** First keyword, lower-cased; the spine's stand-in for a parsed statement kind. */
  keyword?: string;
  /** HTTP protocols: the request as the policy sees it (secrets removed). */
  http?: HttpRequestInfo;
  /**
   * Protocols other than PostgreSQL and HTTP: what the policy reads about the command (SSH: the argv and
   * its shell operators; Kubernetes: verb, resource, namespace…), merged into `input.command` beside
   * `protocol` and `text`. Secrets removed. Whatever is here must be reflected in `shape`.
   */
  details?: Readonly<Record<string, unknown>>;
  /**
   * Non-SQL protocols: everything the policy input holds about the command, as one string (or its digest);
   * the decision cache keys on it. Absent: `text` is the key.
   */
  shape?: string;
  /**
   * SQL protocols, masked identities: what the statements touch as the target's own catalog resolves it
   * (views expanded, `*` and positions resolved), one entry per statement in parse order. Determined by
   * the statement shape and the catalog, so the decision cache may key on the shape.
   */
  catalog?: CatalogResolution;
}

/** How a source column's value is used by a statement, as the target's planner sees it. */
export type SourceUse =
  /** A bare column of the statement's result: RowDescription names it, so result masking applies. */
  | "output"
  /** Inside an expression whose result leaves (a function, cast, operator, aggregate, function scan). */
  | "computed"
  /** A condition or key: WHERE, JOIN, GROUP BY, ORDER BY, DISTINCT, window keys, index use. */
  | "filter"
  /** Read as part of a whole row (`c.*`, `row_to_json(c)`). */
  | "whole_row"
  /** The output of a scalar subquery or InitPlan that feeds another expression. */
  | "subplan"
  /** The output of a set operation arm (UNION…): the result column has no source. */
  | "set_operation";

export interface SourceColumnUse {
  /** `schema.table.column` of a base table. */
  column: string;
  /** The column name normalised to snake_case (camelCase split), for name rules. */
  name: string;
  use: SourceUse;
  /** Where the planner showed it (`Filter`, `Sort Key`, `Output`, …). */
  where: string;
  /** Classes the column is known to hold by configuration or by the classification scan. */
  labels: string[];
}

export interface ResolvedFunction {
  /** As written in the statement (`pg_catalog.setval`, `lower`). */
  name: string;
  /** Most volatile of the catalog's overloads: `immutable`, `stable`, `volatile`; `unknown` when not found. */
  volatility: "immutable" | "stable" | "volatile" | "unknown";
}

export interface ResolvedStatement {
  /** resolved: planned on the catalog connection; unresolved: could not be; not_applicable: reads no data. */
  status: "resolved" | "unresolved" | "not_applicable";
  /** Why it is unresolved or not applicable. */
  reason?: string;
  uses: SourceColumnUse[];
  functions: ResolvedFunction[];
}

export interface CatalogResolution {
  statements: ResolvedStatement[];
}

export interface HttpRequestInfo {
  method: string;
  /** Path below the connection's prefix, percent-decoding left to the policy. */
  path: string;
  /** Query parameters; a repeated name keeps every value. */
  query: Record<string, string[]>;
  /** Lower-cased names; secret-bearing headers removed. */
  headers: Record<string, string>;
  /** The parsed JSON request body when the content type is JSON and the body is within the bound. */
  body?: unknown;
  /** Why `body` is absent although the request has one: "too_large", "not_json", "invalid_json". */
  body_skipped?: string;
  /**
   * WebSocket: "upgrade" for the handshake, "message" for one client message (its text, or its JSON
   * parsed, in `body`; `body_skipped: "binary"` for a binary one).
   */
  websocket?: "upgrade" | "message";
}

export interface CommandOutcome {
  /** Command tag (`SELECT 3`) or null when the command failed. */
  tag: string | null;
  rows: number;
  error?: { code: string; message: string };
  /** Microseconds from the command being forwarded to its completion. */
  durationUs: number;
  /** Protocol-specific facts for the audit event (HTTP: status, bytes in and out, masking evidence). */
  detail?: Record<string, unknown>;
}
