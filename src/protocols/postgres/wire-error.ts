// The one place where gateway errors become PostgreSQL ErrorResponses (SQLSTATE codes from the PostgreSQL
// docs' errcodes appendix). Messages are what the client may see; detail stays in the audit log.
import type { ErrorCode } from "../../core/errors.ts";
import { CustosError } from "../../core/errors.ts";
import { type ErrorFields, errorResponse } from "./codec.ts";

const SQLSTATE: Record<ErrorCode, string> = {
  "config.invalid": "XX000",
  "identity.missing": "28000", // invalid_authorization_specification
  "identity.malformed": "28P01", // invalid_password
  "identity.invalid": "28P01",
  "identity.expired": "28P01",
  "identity.untrusted_issuer": "28P01",
  "identity.wrong_audience": "28P01",
  "identity.algorithm": "28P01",
  "identity.jwks_unavailable": "28000",
  "access.unknown_connection": "3D000", // invalid_catalog_name
  "access.forbidden": "42501", // insufficient_privilege
  "access.insecure_transport": "28000",
  "access.no_grant": "42501",
  "access.grant_expired": "57P01", // admin_shutdown: the gateway ends the session
  "access.grant_revoked": "57P01",
  "approval.denied": "42501",
  "approval.timeout": "42501",
  "approval.abandoned": "57P01",
  "approval.forbidden": "42501",
  "approval.not_found": "42704", // undefined_object
  "approval.conflict": "55000", // object_not_in_prerequisite_state
  "approval.invalid": "22023", // invalid_parameter_value
  "policy.denied": "42501",
  "policy.review": "42501",
  "policy.unavailable": "42501",
  "audit.unavailable": "58000", // system_error
  "upstream.unreachable": "08001", // sqlclient_unable_to_establish_sqlconnection
  "upstream.timeout": "08001",
  "upstream.auth_failed": "08004", // sqlserver_rejected_establishment_of_sqlconnection
  "upstream.protocol": "08P01",
  "protocol.malformed": "08P01", // protocol_violation
  "protocol.unsupported": "0A000", // feature_not_supported
  "protocol.too_large": "54000", // program_limit_exceeded
  "session.idle_timeout": "57P05", // idle_session_timeout
  "session.max_duration": "57P01", // admin_shutdown
  "session.limit": "53300", // too_many_connections
  "gateway.shutting_down": "57P01",
  internal: "XX000",
};

export function toErrorFields(err: CustosError, severity: "ERROR" | "FATAL"): ErrorFields {
  return {
    severity,
    code: SQLSTATE[err.code] ?? "XX000",
    message: err.code === "internal" ? "internal gateway error" : err.message,
    hint: hintFor(err.code),
  };
}

export function wireError(err: unknown, severity: "ERROR" | "FATAL"): Uint8Array {
  const e = err instanceof CustosError ? err : new CustosError("internal", String(err));
  return errorResponse(toErrorFields(e, severity));
}

function hintFor(code: ErrorCode): string | undefined {
  switch (code) {
    case "identity.missing":
    case "identity.malformed":
    case "identity.invalid":
    case "identity.expired":
      return "Custos expects your identity token as the password.";
    case "access.insecure_transport":
      return "Connect with sslmode=require, or from the gateway's own host.";
    case "audit.unavailable":
      return "The gateway refuses work it cannot record; retry when the audit store recovers.";
    default:
      return undefined;
  }
}
