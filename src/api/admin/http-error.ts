// One boundary from CustosError to HTTP: status by code, a JSON body {error: {code, message}}. Anything else
// is an internal error whose message is not shown (it could hold a path or a query).
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { CustosError, type ErrorCode } from "../../core/errors.ts";

const STATUS: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  "identity.missing": 401,
  "identity.malformed": 401,
  "identity.invalid": 401,
  "identity.expired": 401,
  "identity.untrusted_issuer": 401,
  "identity.wrong_audience": 401,
  "identity.algorithm": 401,
  "identity.jwks_unavailable": 503,
  "access.forbidden": 403,
  "approval.forbidden": 403,
  "approval.not_found": 404,
  "approval.conflict": 409,
  "approval.invalid": 400,
  "audit.unavailable": 503,
  "policy.unavailable": 503,
  "config.invalid": 400,
  "protocol.malformed": 400,
};

export function statusOf(err: CustosError): ContentfulStatusCode {
  return STATUS[err.code] ?? 500;
}

export function errorResponse(c: Context, err: unknown): Response {
  if (err instanceof CustosError) {
    const status = statusOf(err);
    if (status === 401) c.header("WWW-Authenticate", 'Bearer realm="custos"');
    const message = status === 500 ? "internal error" : err.message;
    return c.json({ error: { code: err.code, message } }, status);
  }
  return c.json({ error: { code: "internal", message: "internal error" } }, 500);
}

/** A malformed query or body: thrown from parsers, answered 400. */
export const badRequest = (message: string) => new CustosError("protocol.malformed", message);

/** Not found is an answer, not a failure: no error code of its own. */
export const notFound = (c: Context, what: string) =>
  c.json({ error: { code: "not_found", message: `${what} not found` } }, 404);
