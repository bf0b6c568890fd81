// What the MCP session's own record keeps of a tool call: the arguments with secret-bearing fields removed
// and a summary of the outcome (the rows themselves are in the native session's recording, masked).
const SECRET_KEY =
  /pass(word|phrase)?|secret|token|authori[sz]ation|api[-_]?key|credential|private[-_]?key|cookie/i;
const MAX_DEPTH = 32;

/** A copy of a JSON value with every secret-named field's value replaced. */
export function withoutSecrets(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return "[too deep]";
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(v, depth + 1));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = SECRET_KEY.test(k) ? "[redacted]" : withoutSecrets(v, depth + 1);
    return out;
  }
  return value;
}

export type CallStatus = "ok" | "error" | "refused" | "held";

export interface CallOutcome {
  status: CallStatus;
  rows?: number;
  truncated?: boolean;
  command?: string | null;
  http_status?: number;
  exit_code?: number | null;
  sqlstate?: string;
  message?: string;
  rule?: string;
  request_id?: string;
}
