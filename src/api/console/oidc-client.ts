// The console's OIDC client: authorization code flow with PKCE (RFC 7636, S256) against one of the trusted
// issuers. Discovery gives the authorization and token endpoints; the access token that comes back is checked
// by the gateway's own authenticator, so a console user is exactly as trusted as any other caller.
import { createHash, randomBytes } from "node:crypto";
import type { ConsoleConfig } from "../../config/types.ts";
import { CustosError } from "../../core/errors.ts";

export interface LoginStart {
  url: string;
  state: string;
  verifier: string;
  nonce: string;
}

type OidcClientConfig = NonNullable<ConsoleConfig["oidc"]>;

interface Endpoints {
  authorization: string;
  token: string;
}

export interface OidcClient {
  start(redirectUri: string): Promise<LoginStart>;
  /** Exchanges the code; returns the access token (and the id token when the issuer sent one). */
  exchange(
    code: string,
    verifier: string,
    redirectUri: string,
  ): Promise<{ accessToken: string; idToken: string | null }>;
}

const TIMEOUT_MS = 5_000;

export function createOidcClient(cfg: OidcClientConfig, doFetch: typeof fetch = fetch): OidcClient {
  let endpoints: Endpoints | null = null;

  async function discover(): Promise<Endpoints> {
    if (endpoints) return endpoints;
    const url = `${cfg.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    const doc = (await getJson(doFetch, url, { signal: AbortSignal.timeout(TIMEOUT_MS) })) as Record<
      string,
      unknown
    >;
    if (doc.issuer !== cfg.issuer) throw unavailable(`discovery names issuer ${JSON.stringify(doc.issuer)}`);
    const authorization = doc.authorization_endpoint;
    const token = doc.token_endpoint;
    if (
      typeof authorization !== "string" ||
      !safeUrl(authorization) ||
      typeof token !== "string" ||
      !safeUrl(token)
    )
      throw unavailable("discovery lacks a usable authorization_endpoint or token_endpoint");
    endpoints = { authorization, token };
    return endpoints;
  }

  return {
    async start(redirectUri) {
      const { authorization } = await discover();
      const state = random();
      const verifier = random();
      const nonce = random();
      const url = new URL(authorization);
      url.searchParams.set("response_type", "code");
      url.searchParams.set("client_id", cfg.clientId);
      url.searchParams.set("redirect_uri", redirectUri);
      url.searchParams.set("scope", cfg.scopes.join(" "));
      url.searchParams.set("state", state);
      url.searchParams.set("nonce", nonce);
      url.searchParams.set("code_challenge", challenge(verifier));
      url.searchParams.set("code_challenge_method", "S256");
      return { url: url.toString(), state, verifier, nonce };
    },

    async exchange(code, verifier, redirectUri) {
      const { token } = await discover();
      const body = new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
        client_id: cfg.clientId,
        code_verifier: verifier,
      });
      const headers: Record<string, string> = {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      };
      if (cfg.clientSecret) {
        // RFC 6749 §2.3.1: client_secret_basic, each part form-encoded first.
        const pair = `${encodeURIComponent(cfg.clientId)}:${encodeURIComponent(cfg.clientSecret.reveal())}`;
        headers.authorization = `Basic ${Buffer.from(pair).toString("base64")}`;
      }
      const doc = (await getJson(doFetch, token, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(TIMEOUT_MS),
      })) as Record<string, unknown>;
      if (typeof doc.access_token !== "string")
        throw unavailable("the token endpoint returned no access_token");
      return {
        accessToken: doc.access_token,
        idToken: typeof doc.id_token === "string" ? doc.id_token : null,
      };
    },
  };
}

export function challenge(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

const random = () => randomBytes(32).toString("base64url");

async function getJson(doFetch: typeof fetch, url: string, init: RequestInit): Promise<unknown> {
  let res: Response;
  try {
    res = await doFetch(url, { ...init, redirect: "error" });
  } catch (err) {
    throw unavailable(`${new URL(url).pathname}: ${(err as Error).message}`);
  }
  if (!res.ok) {
    // The error body of a token endpoint is {error, error_description}: safe to keep, holds no secret.
    const text = (await res.text().catch(() => "")).slice(0, 300);
    throw unavailable(`${new URL(url).pathname} answered ${res.status} ${text}`);
  }
  try {
    return await res.json();
  } catch {
    throw unavailable(`${new URL(url).pathname} did not answer JSON`);
  }
}

function unavailable(reason: string): CustosError {
  return new CustosError("identity.jwks_unavailable", `sign-in with the identity provider failed: ${reason}`);
}

function safeUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (
      url.protocol === "https:" ||
      (url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname))
    );
  } catch {
    return false;
  }
}
