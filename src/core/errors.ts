// One error type for the whole gateway: a stable `code` per failure, turned into each protocol's own
// error message at that protocol's boundary (protocols/<name>/wire-error.ts).

export type ErrorCode =
  | "config.invalid"
  | "identity.missing"
  | "identity.malformed"
  | "identity.invalid"
  | "identity.expired"
  | "identity.untrusted_issuer"
  | "identity.wrong_audience"
  | "identity.algorithm"
  | "identity.jwks_unavailable"
  | "access.unknown_connection"
  | "access.forbidden"
  | "access.insecure_transport"
  | "access.no_grant"
  | "access.grant_expired"
  | "access.grant_revoked"
  | "approval.denied"
  | "approval.timeout"
  | "approval.abandoned"
  | "approval.forbidden"
  | "approval.not_found"
  | "approval.conflict"
  | "approval.invalid"
  | "policy.denied"
  | "policy.review"
  | "policy.unavailable"
  | "audit.unavailable"
  | "upstream.unreachable"
  | "upstream.timeout"
  | "upstream.auth_failed"
  | "upstream.protocol"
  | "protocol.malformed"
  | "protocol.unsupported"
  | "protocol.too_large"
  | "session.idle_timeout"
  | "session.max_duration"
  /** Too many sessions: per identity on a connection, or in all (PostgreSQL: 53300). */
  | "session.limit"
  | "gateway.shutting_down"
  | "internal";

export class CustosError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Full detail for the audit log and server logs; never sent to clients. Must never hold secrets. */
    readonly detail?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "CustosError";
  }
}

export function asCustosError(err: unknown, fallback: ErrorCode = "internal"): CustosError {
  if (err instanceof CustosError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CustosError(fallback, message);
}
