// Who is calling the admin API: a Bearer token (checked by the gateway's own authenticator, so the same
// issuers and gateway tokens apply) or the console's sealed session cookie. Roles come from groups; no role,
// no access. Cookie-authenticated writes must come from our own origin (SameSite=Strict is the first wall).
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { CustosError } from "../../core/errors.ts";
import type { Identity } from "../../core/identity.ts";
import type { AdminDeps } from "./deps.ts";
import { errorResponse } from "./http-error.ts";
import { allowed, type Role, rolesFor } from "./roles.ts";
import { COOKIE_NAME, openSession } from "./session-cookie.ts";

export interface Principal {
  identity: Identity;
  roles: Role[];
  via: "bearer" | "cookie";
}

export type AdminEnv = { Variables: { principal: Principal } };

/** Resolves the caller or null; throws CustosError (identity.*) for a presented but bad token. */
export async function resolvePrincipal(c: Context, deps: AdminDeps): Promise<Principal | null> {
  const header = c.req.header("authorization");
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new CustosError("identity.malformed", "Authorization must be: Bearer <token>");
    const r = await deps.authenticator.authenticate(m[1]!);
    if (!r.ok) throw r.error;
    return { identity: r.identity, roles: rolesFor(r.identity.groups, deps.console.roles), via: "bearer" };
  }
  const cookie = getCookie(c, COOKIE_NAME);
  if (cookie === undefined) return null;
  const session = openSession(cookie, deps.cookieKey, (deps.now ?? Date.now)());
  if (!session) return null;
  const identity = session.identity;
  return { identity, roles: rolesFor(identity.groups, deps.console.roles), via: "cookie" };
}

export function authenticate(deps: AdminDeps): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    let principal: Principal | null;
    try {
      principal = await resolvePrincipal(c, deps);
    } catch (err) {
      return errorResponse(c, err);
    }
    if (!principal)
      return errorResponse(c, new CustosError("identity.missing", "sign in or present a Bearer token"));
    if (principal.roles.length === 0) {
      return errorResponse(c, new CustosError("access.forbidden", "no console role for this identity"));
    }
    if (principal.via === "cookie" && !["GET", "HEAD"].includes(c.req.method) && !sameOrigin(c)) {
      return errorResponse(c, new CustosError("access.forbidden", "cross-origin request refused"));
    }
    c.set("principal", principal);
    await next();
  };
}

export function requireRole(needed: readonly Role[]): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    if (!allowed(c.get("principal").roles, needed)) {
      return errorResponse(
        c,
        new CustosError("access.forbidden", `needs one of the roles: ${needed.join(", ")}`),
      );
    }
    await next();
  };
}

/** Browsers send Origin on every POST; a missing or foreign one fails closed. */
function sameOrigin(c: Context): boolean {
  const origin = c.req.header("origin");
  const host = c.req.header("host");
  if (!origin || !host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
