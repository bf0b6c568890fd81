// A command as the protocol saw it, before any decision. Protocol-neutral; `statements` appears once
// the SQL classifier (policy issue) fills it.

export interface Command {
  protocol: string;
  text: string;
  /** Extended protocol: named prepared statement, if any. */
  statementName?: string;
  /** First keyword, lower-cased; the spine's stand-in for a parsed statement kind. */
  keyword?: string;
}

export interface CommandOutcome {
  /** Command tag (`SELECT 3`) or null when the command failed. */
  tag: string | null;
  rows: number;
  error?: { code: string; message: string };
  /** Microseconds from the command being forwarded to its completion. */
  durationUs: number;
}
