// One boundary from CustosError to HTTP: status by code, a problem+json body (RFC 9457) that also holds the
// {error: {code, message}} this API has always sent. Anything else is an internal error whose message is not
// shown (it could hold a path or a query).
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { CustosError, type ErrorCode } from "../../core/errors.ts";
import { problemType } from "../../core/problem.ts";

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
    return problem(c, status, err.code, message);
  }
  return problem(c, 500, "internal", "internal error");
}

/**
 * RFC 9457 problem details (title, status, detail), with the `error` object this API has always sent kept
 * beside them, so clients reading either find what went wrong.
 */
export function problem(c: Context, status: ContentfulStatusCode, code: string, message: string): Response {
  const body = { type: problemType(code), title: code, status, detail: message, error: { code, message } };
  return c.body(JSON.stringify(body), status, { "Content-Type": "application/problem+json" });
}

/** A malformed query or body: thrown from parsers, answered 400. */
export const badRequest = (message: string) => new CustosError("protocol.malformed", message);

/** Not found is an answer, not a failure: no error code of its own. */
export const notFound = (c: Context, what: string) => problem(c, 404, "not_found", `${what} not found`);
