// How the relay refuses: the decisions it makes itself (audit store lost, policy or masking failure), the
// statement that stands in for a refused one, and the error the client sees instead of the server's.
import type { Decision } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import * as codec from "./codec.ts";
import { UNKNOWN_PORTAL, UNKNOWN_STATEMENT } from "./object-decisions.ts";
import { maskingFailure } from "./result-masking.ts";
import { wireError } from "./wire-error.ts";

/** Replaces a refused statement; the server answers it with SQLSTATE 42601, which the tracker rewrites. */
const REFUSAL_SQL = "custos_refused_statement";
export const refusedQuery = codec.query(REFUSAL_SQL);
export const refusedParse = (name: string) =>
  new codec.Writer().cstring(name).cstring(REFUSAL_SQL).int16(0).finish("P");

export function auditRefusal(): Decision {
  return {
    action: "deny",
    reason: "audit store unavailable",
    rule: "custos.audit_unavailable",
    record: "sync",
    mask: [],
  };
}

/** A masked command whose masking cannot be prepared (a COPY's columns or format): refused, never run. */
export function maskingRefusal(err: unknown): Decision {
  return {
    action: "deny",
    reason: maskingFailure(err).message,
    rule: "custos.masking_unavailable",
    record: "sync",
    mask: [],
  };
}

export function policyFailure(): Decision {
  return {
    action: "deny",
    reason: "policy evaluation failed",
    rule: "custos.policy_error",
    record: "sync",
    mask: [],
  };
}

function refusalCode(d: Decision): CustosError {
  if (d.rule === "custos.audit_unavailable") {
    return new CustosError("audit.unavailable", "audit store unavailable: statement refused");
  }
  if (d.action === "review") {
    return new CustosError("policy.review", `approval required: ${d.reason} (rule ${d.rule})`);
  }
  switch (d.rule) {
    case "custos.approval_denied":
      return new CustosError("approval.denied", `approval denied: ${d.reason}`);
    case "custos.approval_timeout":
      return new CustosError("approval.timeout", `approval timed out: ${d.reason}`);
    case "custos.approval_abandoned":
      return new CustosError("approval.abandoned", `approval abandoned: ${d.reason}`);
    case "custos.approval_unavailable":
      return new CustosError("policy.review", `approval required but unavailable: ${d.reason}`);
  }
  return new CustosError("policy.denied", `permission denied by policy: ${d.reason} (rule ${d.rule})`);
}

// An execution of a name with no decided object: the server's own SQLSTATEs for an unknown name
// (26000 invalid_sql_statement_name, 34000 invalid_cursor_name, errcodes appendix), so drivers react as
// they would to the server's error.
const UNKNOWN_OBJECT_SQLSTATE: Record<string, string> = {
  [UNKNOWN_STATEMENT]: "26000",
  [UNKNOWN_PORTAL]: "34000",
};

export function refusalMessage(d: Decision): Uint8Array {
  // A decision naming its own SQLSTATE (the gateway's parser rejected the text: 42601 with a position).
  if (d.error) {
    const { sqlstate, message, hint, position } = d.error;
    return codec.errorResponse({
      severity: "ERROR",
      code: sqlstate,
      message,
      ...(hint ? { hint } : {}),
      ...(position !== undefined ? { position } : {}),
    });
  }
  const unknown = UNKNOWN_OBJECT_SQLSTATE[d.rule];
  if (unknown) {
    const err = refusalCode(d);
    return codec.errorResponse({ severity: "ERROR", code: unknown, message: err.message });
  }
  return wireError(refusalCode(d), "ERROR");
}

export function refusalError(d: Decision): { code: string; message: string } {
  const err = refusalCode(d);
  return {
    code: UNKNOWN_OBJECT_SQLSTATE[d.rule] ?? err.code,
    message: d.error ? `${d.error.message} (SQLSTATE ${d.error.sqlstate})` : err.message,
  };
}

export function asProtocolError(err: unknown): CustosError {
  if (err instanceof CustosError) return err;
  if (err instanceof codec.CodecError) {
    return new CustosError(
      err.kind === "too_large" ? "protocol.too_large" : "protocol.malformed",
      err.message,
    );
  }
  return new CustosError("internal", String(err));
}
