// Signing in to the console: the OIDC code flow with PKCE (/console/login → issuer → /console/callback), or a
// one-time link carrying a short-lived token (/console/link?token=…, what `custos demo` prints). Either ends
// in the sealed session cookie; every sign-in and every refusal is an audit event.
/** @jsxImportSource hono/jsx */
import { createHash } from "node:crypto";
import type { Context } from "hono";
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Identity } from "../../core/identity.ts";
import type { AdminDeps } from "../admin/deps.ts";
import { rolesFor } from "../admin/roles.ts";
import {
  COOKIE_NAME,
  EXPIRED_NOTICE_MS,
  LOGIN_COOKIE,
  seal,
  sealSession,
  unseal,
} from "../admin/session-cookie.ts";
import { Page } from "./layout.tsx";
import { createOidcClient } from "./oidc-client.ts";

const LOGIN_TTL_MS = 10 * 60_000;

interface LoginState {
  state: string;
  verifier: string;
  redirectUri: string;
  expiresAt: number;
}

export function loginRoutes(deps: AdminDeps): Hono {
  const app = new Hono();
  const now = deps.now ?? Date.now;
  const oidc = deps.console.oidc ? createOidcClient(deps.console.oidc) : null;
  // Link tokens already exchanged, by SHA-256, until they expire: a link works once.
  const usedLinks = new Map<string, number>();

  const secure = (c: Context) => deps.secureCookies || new URL(c.req.url).protocol === "https:";

  const refuse = (
    c: Context,
    status: 400 | 401 | 403 | 503,
    message: string,
    detail: Record<string, unknown>,
  ) => {
    deps.audit.event({ type: "console.login_failure", time: now(), data: { reason: message, ...detail } });
    return c.html(<LoginPage deps={deps} error={message} />, status);
  };

  const signIn = (c: Context, identity: Identity, via: "oidc" | "link") => {
    const roles = rolesFor(identity.groups, deps.console.roles);
    if (roles.length === 0)
      return refuse(c, 403, "this identity has no console role", {
        subject: identity.subject,
        issuer: identity.issuer,
        via,
      });
    // The session lasts its own configured time: a one-time link's token is spent once exchanged, and an
    // identity provider's access token is often minutes long.
    const expiresAt = now() + deps.console.sessionTtlMs;
    setCookie(c, COOKIE_NAME, sealSession({ identity, expiresAt, via }, deps.cookieKey), {
      path: "/",
      httpOnly: true,
      sameSite: "Strict",
      secure: secure(c),
      expires: new Date(expiresAt + EXPIRED_NOTICE_MS),
    });
    deps.audit.event({
      type: "console.login",
      time: now(),
      data: {
        subject: identity.subject,
        issuer: identity.issuer,
        groups: identity.groups,
        roles,
        via,
        amr: identity.context.amr,
        session_expires_at: new Date(expiresAt).toISOString(),
      },
    });
    // Not a redirect: after the identity provider's cross-site redirect, a browser withholds SameSite=Strict
    // cookies for the rest of that navigation chain. A page that moves on by itself starts a same-site one.
    return c.html(<Continue />);
  };

  app.get("/login", async (c) => {
    const expired = c.req.query("expired") === "1";
    if (!oidc || expired) return c.html(<LoginPage deps={deps} expired={expired} />, expired ? 401 : 200);
    const redirectUri = deps.console.oidc?.redirectUrl ?? `${new URL(c.req.url).origin}/console/callback`;
    let start: Awaited<ReturnType<typeof oidc.start>>;
    try {
      start = await oidc.start(redirectUri);
    } catch (err) {
      return refuse(c, 503, "the identity provider is unavailable", { error: (err as Error).message });
    }
    const state: LoginState = {
      state: start.state,
      verifier: start.verifier,
      redirectUri,
      expiresAt: now() + LOGIN_TTL_MS,
    };
    // SameSite=Lax: the issuer's redirect back is a top-level cross-site navigation that must carry it.
    setCookie(c, LOGIN_COOKIE, seal(state, deps.cookieKey, "login"), {
      path: "/console/callback",
      httpOnly: true,
      sameSite: "Lax",
      secure: secure(c),
      maxAge: LOGIN_TTL_MS / 1000,
    });
    return c.redirect(start.url, 302);
  });

  app.get("/callback", async (c) => {
    const raw = getCookie(c, LOGIN_COOKIE);
    deleteCookie(c, LOGIN_COOKIE, { path: "/console/callback" });
    const saved = raw ? (unseal(raw, deps.cookieKey, "login") as LoginState | null) : null;
    const error = c.req.query("error");
    if (error) return refuse(c, 401, `the identity provider refused: ${error.slice(0, 100)}`, {});
    const code = c.req.query("code");
    const state = c.req.query("state");
    if (!oidc || !saved || saved.expiresAt <= now())
      return refuse(c, 400, "the sign-in expired; start again", {});
    if (!code || !state || state !== saved.state)
      return refuse(c, 400, "the sign-in state does not match", {});
    let token: string;
    try {
      token = (await oidc.exchange(code, saved.verifier, saved.redirectUri)).accessToken;
    } catch (err) {
      return refuse(c, 503, "the identity provider did not issue a token", { error: (err as Error).message });
    }
    const r = await deps.authenticator.authenticate(token);
    if (!r.ok) return refuse(c, 401, r.error.message, { code: r.error.code, ...r.error.detail });
    return signIn(c, r.identity, "oidc");
  });

  app.get("/link", async (c) => {
    c.header("Referrer-Policy", "no-referrer");
    const token = c.req.query("token");
    if (!token) return refuse(c, 400, "the link carries no token", { via: "link" });
    const hash = createHash("sha256").update(token).digest("hex");
    const t = now();
    for (const [h, exp] of usedLinks) if (exp <= t) usedLinks.delete(h);
    if (usedLinks.has(hash))
      return refuse(c, 401, "this sign-in link was already used", {
        via: "link",
        fingerprint: hash.slice(0, 8),
      });
    const r = await deps.authenticator.authenticate(token);
    if (!r.ok) return refuse(c, 401, r.error.message, { via: "link", code: r.error.code, ...r.error.detail });
    usedLinks.set(hash, r.identity.expiresAt);
    return signIn(c, r.identity, "link");
  });

  app.post("/logout", (c) => {
    // SameSite=Strict keeps other sites from sending the cookie; the Origin check is the second wall.
    if (!sameOrigin(c.req.header("origin"), c.req.header("host")))
      return c.html(<LoginPage deps={deps} error="cross-origin sign-out refused" />, 403);
    deleteCookie(c, COOKIE_NAME, { path: "/" });
    return c.redirect("/console/login", 303);
  });

  return app;
}

/** A browser's form POST carries Origin; a missing, malformed or foreign one is refused. */
function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (!origin || !host) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

function Continue() {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="refresh" content="0;url=/console" />
        <title>Signed in · Custos</title>
      </head>
      <body>
        <p>
          Signed in. <a href="/console">Continue to the console</a>.
        </p>
      </body>
    </html>
  );
}

function LoginPage({ deps, error, expired }: { deps: AdminDeps; error?: string; expired?: boolean }) {
  return (
    <Page title="Sign in">
      <section class="login">
        <h1>Custos console</h1>
        {expired ? <p class="error">Your console session expired. Sign in again.</p> : null}
        {error ? <p class="error">{error}</p> : null}
        {deps.console.oidc ? (
          <p>
            <a class="button" href="/console/login">
              Sign in with {new URL(deps.console.oidc.issuer).host}
            </a>
          </p>
        ) : null}
        <p class="new-link">
          {deps.console.oidc ? "Or open" : "Open"} a new one-time sign-in link: on the gateway's host, run{" "}
          <code>custos console link --config FILE</code> (FILE: the gateway's config; for the demo,{" "}
          <code>data/demo/custos.yaml</code>). A link works once, within 10 minutes. Scripts can call the API
          with a Bearer token instead.
        </p>
      </section>
    </Page>
  );
}
