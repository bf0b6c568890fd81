// A real OIDC issuer on a loopback port for tests: discovery document, JWKS, and token minting with the
// published keys (RS256, ES256), a key published only after rotateKey(), and a foreign key never published.
// Also the authorization code flow with PKCE (/authorize signs in the user set by signInAs, /token checks
// the code, redirect_uri, client_id and S256 verifier) for the console's sign-in.
import { createHash, createHmac, randomBytes } from "node:crypto";
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { freePort } from "./free-port.ts";

export type MintKey = "default" | "rotated" | "foreign";

export interface MintOptions {
  /** RS256 (default), PS256, ES256; each has its own published key (WebCrypto keys are bound to one algorithm). */
  alg?: "RS256" | "PS256" | "ES256";
  /** Overrides the key's kid in the header; pass null to omit it. */
  kid?: string | null;
  /** jose time span ("5m", "-1m") or epoch seconds; default 5 minutes; null for no exp claim. */
  expiresIn?: string | number | null;
  key?: MintKey;
  header?: Record<string, unknown>;
}

export interface OidcIssuer {
  issuer: string;
  port: number;
  mint(claims: JWTPayload, opts?: MintOptions): Promise<string>;
  /** alg "none", no signature. */
  mintUnsigned(claims: JWTPayload): string;
  /** HS256 keyed with the RSA public key PEM (the classic key-confusion attack) unless a secret is given. */
  mintHmac(claims: JWTPayload, secret?: string): string;
  /** Publishes the rotated key (kid "rs-2") next to the current ones; returns its kid. */
  rotateKey(): string;
  /** JWKS fetches served so far. */
  readonly requests: number;
  /** Discovery fetches served so far. */
  readonly discoveries: number;
  /** The user /authorize signs in (no login form); null makes /authorize answer 401 access_denied. */
  signInAs(user: { sub: string; groups: string[]; aud?: string } | null): void;
  /** Token endpoint calls served so far, and the last error it answered (invalid_grant…). */
  readonly tokenCalls: number;
  readonly lastTokenError: string | null;
  /** Refuses connections until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

interface KeyEntry {
  kid: string;
  alg: "RS256" | "PS256" | "ES256";
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function makeKey(kid: string, alg: KeyEntry["alg"]): Promise<KeyEntry> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { modulusLength: 2048 });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicKey, jwk };
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * `path` gives the issuer a path, as real providers have (Entra /<tenant>/v2.0, Okta /oauth2/<server>,
 * Keycloak /realms/<realm>): every endpoint, discovery included, is served under it.
 */
export async function startOidcIssuer(opts: { path?: string } = {}): Promise<OidcIssuer> {
  const [rs, ps, es, rotated, foreign] = await Promise.all([
    makeKey("rs-1", "RS256"),
    makeKey("ps-1", "PS256"),
    makeKey("es-1", "ES256"),
    makeKey("rs-2", "RS256"),
    makeKey("rs-1", "RS256"),
  ]);
  const rsPublicPem = await exportSPKI(rs.publicKey);
  const published: KeyEntry[] = [rs, ps, es];
  let jwksFetches = 0;
  let discoveryFetches = 0;
  type SignInUser = { sub: string; groups: string[]; aud?: string };
  let user: SignInUser | null = null;
  let tokenCalls = 0;
  let lastTokenError: string | null = null;
  // Codes issued by /authorize: single use, one minute.
  const codes = new Map<
    string,
    {
      clientId: string;
      redirectUri: string;
      challenge: string;
      nonce: string | null;
      user: SignInUser;
      exp: number;
    }
  >();
  const port = await freePort();
  const prefix = (opts.path ?? "").replace(/\/+$/, "");
  const issuer = `http://127.0.0.1:${port}${prefix}`;

  const serve = () =>
    Bun.serve({
      hostname: "127.0.0.1",
      port,
      fetch(req) {
        const full = new URL(req.url).pathname;
        if (prefix && !full.startsWith(`${prefix}/`)) return new Response("not found", { status: 404 });
        const path = full.slice(prefix.length);
        if (path === "/.well-known/openid-configuration") {
          discoveryFetches++;
          return Response.json({
            issuer,
            jwks_uri: `${issuer}/jwks`,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            response_types_supported: ["code"],
            code_challenge_methods_supported: ["S256"],
            id_token_signing_alg_values_supported: ["RS256", "PS256", "ES256"],
          });
        }
        if (path === "/authorize") return authorize(new URL(req.url));
        if (path === "/token" && req.method === "POST") return token(req);
        if (path === "/jwks") {
          jwksFetches++;
          return Response.json({ keys: published.map((k) => k.jwk) });
        }
        return new Response("not found", { status: 404 });
      },
    });
  const authorize = (url: URL): Response => {
    const q = url.searchParams;
    const redirectUri = q.get("redirect_uri");
    if (!redirectUri) return new Response("missing redirect_uri", { status: 400 });
    const back = new URL(redirectUri);
    if (q.get("state")) back.searchParams.set("state", q.get("state")!);
    const fail = (error: string) => {
      back.searchParams.set("error", error);
      return Response.redirect(back.toString(), 302);
    };
    if (q.get("response_type") !== "code" || !q.get("client_id")) return fail("invalid_request");
    if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge")) return fail("invalid_request");
    if (!user) return fail("access_denied");
    const code = randomBytes(16).toString("base64url");
    codes.set(code, {
      clientId: q.get("client_id")!,
      redirectUri,
      challenge: q.get("code_challenge")!,
      nonce: q.get("nonce"),
      user,
      exp: Date.now() + 60_000,
    });
    back.searchParams.set("code", code);
    return Response.redirect(back.toString(), 302);
  };

  const token = async (req: Request): Promise<Response> => {
    tokenCalls++;
    const form = new URLSearchParams(await req.text());
    const refuse = (error: string) => {
      lastTokenError = error;
      return Response.json({ error }, { status: 400 });
    };
    const code = form.get("code") ?? "";
    const entry = codes.get(code);
    codes.delete(code);
    if (form.get("grant_type") !== "authorization_code" || !entry || entry.exp < Date.now())
      return refuse("invalid_grant");
    if (form.get("redirect_uri") !== entry.redirectUri || form.get("client_id") !== entry.clientId)
      return refuse("invalid_grant");
    const verifier = form.get("code_verifier") ?? "";
    if (createHash("sha256").update(verifier).digest("base64url") !== entry.challenge)
      return refuse("invalid_grant");
    const sign = (claims: JWTPayload) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid: rs.kid, typ: "JWT" })
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(rs.privateKey);
    const u = entry.user;
    const accessToken = await sign({
      iss: issuer,
      sub: u.sub,
      aud: u.aud ?? "custos",
      groups: u.groups,
      amr: ["pwd", "mfa"],
    });
    const idToken = await sign({
      iss: issuer,
      sub: u.sub,
      aud: entry.clientId,
      ...(entry.nonce ? { nonce: entry.nonce } : {}),
    });
    lastTokenError = null;
    return Response.json({
      access_token: accessToken,
      id_token: idToken,
      token_type: "Bearer",
      expires_in: 300,
    });
  };

  let server: ReturnType<typeof Bun.serve> | null = serve();

  const pick = (key: MintKey, alg: string): KeyEntry => {
    if (key === "rotated") return rotated;
    if (key === "foreign") return foreign;
    return alg === "ES256" ? es : alg === "PS256" ? ps : rs;
  };

  return {
    issuer,
    port,
    async mint(claims, opts = {}) {
      const alg = opts.alg ?? "RS256";
      const entry = pick(opts.key ?? "default", alg);
      const header: Record<string, unknown> = { alg, typ: "JWT", ...opts.header };
      if (opts.kid !== null) header.kid = opts.kid ?? entry.kid;
      const jwt = new SignJWT(claims).setProtectedHeader(header as { alg: string });
      if (claims.iat === undefined) jwt.setIssuedAt();
      if (claims.exp === undefined && opts.expiresIn !== null) jwt.setExpirationTime(opts.expiresIn ?? "5m");
      return jwt.sign(entry.privateKey);
    },
    mintUnsigned(claims) {
      const now = Math.floor(Date.now() / 1000);
      return `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ iat: now, exp: now + 300, ...claims })}.`;
    },
    mintHmac(claims, secret = rsPublicPem) {
      const now = Math.floor(Date.now() / 1000);
      const input = `${b64url({ alg: "HS256", typ: "JWT", kid: rs.kid })}.${b64url({ iat: now, exp: now + 300, ...claims })}`;
      return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
    },
    rotateKey() {
      if (!published.includes(rotated)) published.push(rotated);
      return rotated.kid;
    },
    get requests() {
      return jwksFetches;
    },
    signInAs(u) {
      user = u;
    },
    get tokenCalls() {
      return tokenCalls;
    },
    get lastTokenError() {
      return lastTokenError;
    },
    get discoveries() {
      return discoveryFetches;
    },
    async down() {
      await server?.stop(true);
      server = null;
    },
    async up() {
      server ??= serve();
    },
    async stop() {
      await server?.stop(true);
      server = null;
    },
  };
}
