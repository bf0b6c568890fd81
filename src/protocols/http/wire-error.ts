// The one place where gateway errors become HTTP responses: RFC 9457 problem details
// (`application/problem+json`). Messages are what the client may see; detail stays in the audit log.
import type { ErrorCode } from "../../core/errors.ts";
import { CustosError } from "../../core/errors.ts";
import { problemType } from "../../core/problem.ts";

const STATUS: Record<ErrorCode, number> = {
  "config.invalid": 500,
  "identity.missing": 401,
  "identity.malformed": 401,
  "identity.invalid": 401,
  "identity.expired": 401,
  "identity.untrusted_issuer": 401,
  "identity.wrong_audience": 401,
  "identity.algorithm": 401,
  "identity.jwks_unavailable": 503,
  "access.unknown_connection": 404,
  "access.forbidden": 403,
  "access.insecure_transport": 403,
  "access.no_grant": 403,
  "access.grant_expired": 403,
  "access.grant_revoked": 403,
  "approval.denied": 403,
  "approval.timeout": 403,
  "approval.abandoned": 503,
  "approval.forbidden": 403,
  "approval.not_found": 404,
  "approval.conflict": 409,
  "approval.invalid": 400,
  "policy.denied": 403,
  "policy.review": 403,
  "policy.unavailable": 403,
  "audit.unavailable": 503,
  "upstream.unreachable": 502,
  "upstream.timeout": 504,
  "upstream.auth_failed": 502,
  "upstream.protocol": 502,
  "protocol.malformed": 400,
  "protocol.unsupported": 501,
  "protocol.too_large": 413,
  "session.idle_timeout": 408,
  "session.max_duration": 403,
  "session.limit": 429,
  "gateway.shutting_down": 503,
  internal: 500,
};

export function statusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** Extra members a problem may carry (the deciding rule); never secrets. */
export type ProblemExtras = Record<string, string | number>;

export function problemResponse(err: unknown, extras: ProblemExtras = {}, headers?: HeadersInit): Response {
  const e = err instanceof CustosError ? err : new CustosError("internal", String(err));
  const status = statusFor(e.code);
  const body = {
    type: problemType(e.code),
    title: e.code === "internal" ? "internal gateway error" : e.message,
    status,
    code: e.code,
    ...extras,
  };
  const h = new Headers(headers);
  h.set("content-type", "application/problem+json");
  h.set("cache-control", "no-store");
  // RFC 6750 §3: tell the client how to authenticate.
  if (status === 401) h.set("www-authenticate", 'Bearer realm="custos"');
  return new Response(JSON.stringify(body), { status, headers: h });
}
