// Verifies an OIDC provider's access tokens: discovery at first use (retried after a failure, never more
// often than retryMs), the JWKS through jose's remote set (cached, refetched on an unknown kid at most
// once per cooldown), asymmetric algorithms only, iss/aud/exp/nbf with 30 s leeway, groups from a claim.
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
  type RemoteJWKSet,
} from "jose";
import { CustosError } from "../core/errors.ts";
import type { Identity } from "../core/identity.ts";

/** HMAC and "none" are absent on purpose: a public JWKS must never double as a shared secret. */
export const OIDC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;
const CLOCK_TOLERANCE_S = 30;

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface OidcVerifierOptions {
  issuer: string;
  audience: string;
  groupsClaim: string;
  agentGroups: string[];
  fetch?: FetchLike;
  /** Per HTTP request (discovery, JWKS). Default 5 s. */
  timeoutMs?: number;
  /** After a successful JWKS fetch, an unknown kid triggers no refetch for this long. Default 30 s. */
  jwksCooldownMs?: number;
  /** Keys are refetched once this old. Default 10 min. */
  jwksMaxAgeMs?: number;
  /** After a failed discovery or JWKS fetch, requests fail fast for this long. Default 5 s. */
  retryMs?: number;
  /** identity.max_token_lifetime: a token whose exp is further away than this is refused. Default 24 h. */
  maxLifetimeMs?: number;
}

export interface OidcVerifier {
  readonly issuer: string;
  verify(token: string): Promise<Identity>;
}

export function createOidcVerifier(opts: OidcVerifierOptions): OidcVerifier {
  const doFetch: FetchLike = opts.fetch ?? ((url, init) => fetch(url, init));
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const retryMs = opts.retryMs ?? 5_000;
  let remote: RemoteJWKSet | null = null;
  let discovering: Promise<RemoteJWKSet> | null = null;
  let discoveryFailedAt = Number.NEGATIVE_INFINITY;
  let jwksFailedAt = Number.NEGATIVE_INFINITY;
  let lastFailure = "";

  const unavailable = (reason: string) =>
    new CustosError("identity.jwks_unavailable", "identity provider keys are unavailable", {
      issuer: opts.issuer,
      reason,
    });
  const recent = (at: number) => Date.now() - at < retryMs;

  async function discover(): Promise<RemoteJWKSet> {
    const url = `${opts.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const res = await doFetch(url, { redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
      if (res.status !== 200) throw new Error(`discovery returned HTTP ${res.status}`);
      doc = (await res.json()) as typeof doc;
    } catch (err) {
      throw new Error(`discovery at ${url} failed: ${(err as Error).message}`);
    }
    // OpenID Connect Discovery 1.0 §4.3: the document's issuer must equal the one we asked.
    if (doc.issuer !== opts.issuer) throw new Error(`discovery names issuer ${JSON.stringify(doc.issuer)}`);
    if (typeof doc.jwks_uri !== "string" || !safeUrl(doc.jwks_uri)) {
      throw new Error(`discovery has no usable jwks_uri (${JSON.stringify(doc.jwks_uri)})`);
    }
    return createRemoteJWKSet(new URL(doc.jwks_uri), {
      timeoutDuration: timeoutMs,
      cooldownDuration: opts.jwksCooldownMs ?? 30_000,
      cacheMaxAge: opts.jwksMaxAgeMs ?? 600_000,
      ...(opts.fetch ? { [customFetch]: opts.fetch } : {}),
    });
  }

  async function jwks(): Promise<RemoteJWKSet> {
    if (remote) return remote;
    if (recent(discoveryFailedAt) && !discovering) throw unavailable(lastFailure);
    discovering ??= discover().finally(() => {
      discovering = null;
    });
    try {
      remote = await discovering;
      return remote;
    } catch (err) {
      discoveryFailedAt = Date.now();
      lastFailure = (err as Error).message;
      throw unavailable(lastFailure);
    }
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    const set = await jwks();
    if (recent(jwksFailedAt)) {
      // The provider just failed: answer from the keys we hold, without asking it again.
      const cached = set.jwks();
      if (!cached || !set.fresh) throw unavailable(lastFailure);
      return createLocalJWKSet(cached)(header, token);
    }
    try {
      return await set(header, token);
    } catch (err) {
      if (
        err instanceof errors.JWKSNoMatchingKey ||
        err instanceof errors.JWKSMultipleMatchingKeys ||
        err instanceof errors.JOSENotSupported
      ) {
        throw err;
      }
      jwksFailedAt = Date.now();
      lastFailure = `JWKS fetch failed: ${(err as Error).message}`;
      throw unavailable(lastFailure);
    }
  };

  return {
    issuer: opts.issuer,
    async verify(token) {
      const { payload } = await jwtVerify(token, getKey, {
        algorithms: [...OIDC_ALGORITHMS],
        issuer: opts.issuer,
        audience: opts.audience,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ["sub", "exp"],
      });
      checkLifetime(payload, opts.maxLifetimeMs ?? DEFAULT_MAX_TOKEN_LIFETIME_MS);
      return toIdentity(payload, opts);
    },
  };
}

export const DEFAULT_MAX_TOKEN_LIFETIME_MS = 24 * 3_600_000;

/**
 * A subject names someone (an empty `sub` is nobody, and would share one cache and audit identity), and a
 * token may not outlive identity.max_token_lifetime from now: an exp in the year 3000 is a credential that
 * never expires.
 */
function checkLifetime(payload: JWTPayload, maxLifetimeMs: number): void {
  const invalid = (reason: string) => new CustosError("identity.invalid", "invalid token", { reason });
  if (typeof payload.sub !== "string" || payload.sub.trim() === "") throw invalid("sub is empty");
  const exp = payload.exp;
  if (typeof exp !== "number" || !Number.isFinite(exp)) throw invalid("exp is not a number");
  const limit = Date.now() + maxLifetimeMs + CLOCK_TOLERANCE_S * 1000;
  if (exp * 1000 > limit) {
    throw invalid(`exp is more than identity.max_token_lifetime (${maxLifetimeMs / 1000}s) away`);
  }
}

function toIdentity(payload: JWTPayload, opts: OidcVerifierOptions): Identity {
  const groups = readGroups(payload, opts.groupsClaim);
  const context: Identity["context"] = {};
  const amr = payload.amr;
  if (Array.isArray(amr) && amr.every((v) => typeof v === "string")) context.amr = [...amr];
  if (typeof payload.acr === "string") context.acr = payload.acr;
  const clientId = payload.azp ?? payload.client_id;
  if (typeof clientId === "string") context.clientId = clientId;
  const act = payload.act as { sub?: unknown } | undefined;
  if (act && typeof act.sub === "string") context.actor = act.sub;
  if (typeof payload.jti === "string") context.tokenId = payload.jti;
  return {
    subject: payload.sub!,
    issuer: opts.issuer,
    groups,
    kind: groups.some((g) => opts.agentGroups.includes(g)) ? "agent" : "human",
    method: "oidc",
    expiresAt: payload.exp! * 1000,
    context,
  };
}

/** The claim may be a list of strings or one space/comma separated string; a dotted name walks objects. */
function readGroups(payload: JWTPayload, claim: string): string[] {
  let value: unknown = payload[claim];
  if (value === undefined && claim.includes(".")) {
    value = claim
      .split(".")
      .reduce<unknown>((obj, part) => (obj as Record<string, unknown> | undefined)?.[part], payload);
  }
  // Microsoft Entra ID leaves `groups` out of a token whose user is in too many groups and points to
  // Microsoft Graph instead (_claim_names / _claim_sources, the "groups overage"). Custos does not call
  // Graph on the connect path: refuse with the reason, rather than read it as "no groups".
  const claimNames = payload._claim_names as Record<string, unknown> | undefined;
  if (
    (value === undefined || value === null) &&
    claimNames &&
    typeof claimNames === "object" &&
    claim in claimNames
  ) {
    throw new CustosError("identity.invalid", "invalid token", {
      reason: `groups claim "${claim}" is not in the token (Entra groups overage: _claim_names points to Microsoft Graph); use app roles (groups_claim: roles) or limit the groups emitted`,
    });
  }
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value) && value.every((g) => typeof g === "string")) return [...value];
  throw new CustosError("identity.invalid", "invalid token", {
    reason: `groups claim "${claim}" is neither a string nor a list of strings`,
  });
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
