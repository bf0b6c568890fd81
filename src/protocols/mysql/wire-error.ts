// Every refusal and failure as a MySQL ERR packet, at one boundary: the error number and SQLSTATE clients
// and drivers already understand (MySQL "Server Error Message Reference").
import type { CustosError } from "../../core/errors.ts";
import { errPayload } from "./codec.ts";

const BY_CODE: Record<string, [number, string]> = {
  "access.insecure_transport": [3159, "HY000"], // ER_SECURE_TRANSPORT_REQUIRED
  "session.limit": [1040, "08004"], // ER_CON_COUNT_ERROR
  "policy.denied": [1142, "42000"], // ER_TABLEACCESS_DENIED_ERROR: drivers surface it as a permission error
  "policy.review": [1142, "42000"],
  "policy.unavailable": [1142, "42000"],
  "approval.denied": [1142, "42000"],
  "approval.timeout": [1142, "42000"],
  "approval.abandoned": [1142, "42000"],
  "protocol.malformed": [1047, "08S01"], // ER_UNKNOWN_COM_ERROR
  "protocol.unsupported": [1047, "08S01"],
  "protocol.too_large": [1153, "08S01"], // ER_NET_PACKET_TOO_LARGE
  "session.idle_timeout": [4031, "HY000"], // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
  "session.max_duration": [4031, "HY000"],
  "gateway.shutting_down": [1053, "08S01"], // ER_SERVER_SHUTDOWN
  "audit.unavailable": [1105, "HY000"], // ER_UNKNOWN_ERROR
};

/** The ERR payload for a gateway error; identity and access problems are "access denied" (1045). */
export function wireError(err: CustosError): Uint8Array {
  const known = BY_CODE[err.code];
  if (known) return errPayload(known[0], known[1], err.message);
  if (err.code.startsWith("identity.") || err.code.startsWith("access."))
    return errPayload(1045, "28000", `Access denied: ${err.message}`);
  if (err.code.startsWith("upstream.")) return errPayload(1105, "HY000", err.message); // ER_UNKNOWN_ERROR
  return errPayload(1105, "HY000", err.message);
}

/** A policy refusal: 1064 syntax error for the gateway's parser, 1142 for a denial. */
export function refusal(message: string, sqlstate?: string): Uint8Array {
  if (sqlstate === "42601") return errPayload(1064, "42000", message); // ER_PARSE_ERROR
  return errPayload(1142, "42000", message);
}
