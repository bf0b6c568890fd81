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
   * Non-SQL protocols: everything the policy input holds about the command, as one string (or its digest);
   * the decision cache keys on it. Absent: `text` is the key.
   */
  shape?: string;
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
