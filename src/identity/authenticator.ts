// Token in, Identity out. Picks the verifier by the token's (unverified) iss, maps every failure to a
// CustosError whose message is safe for the client and whose detail carries the full reason for the
// audit log, and caches successes per token until exp so reconnect storms cost one verification.
import { createHash } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, errors } from "jose";
import { CustosError, type ErrorCode } from "../core/errors.ts";
import type { Identity } from "../core/identity.ts";
import type { GatewayKey } from "./gateway-key.ts";
import { gatewayIssuer as defaultGatewayIssuer, verifyGatewayToken } from "./gateway-tokens.ts";
import { createOidcVerifier, type FetchLike, OIDC_ALGORITHMS, type OidcVerifierOptions } from "./oidc.ts";

export type AuthResult = { ok: true; identity: Identity } | { ok: false; error: CustosError };

export interface Authenticator {
  /** Never throws. */
  authenticate(token: string): Promise<AuthResult>;
  /**
   * An identity a token proved earlier and a protocol kept under its own signed record (an SSH certificate's):
   * refused once it has expired or when its issuer is no longer configured; the agent groups of today's
   * configuration apply. Never throws.
   */
  recheck(identity: Identity): AuthResult;
}

export interface AuthenticatorOptions {
  issuers: { issuer: string; audience: string; groupsClaim: string }[];
  agentGroups: string[];
  /** Null disables gateway tokens. */
  gatewayKey: GatewayKey | null;
  /** Default custos:<kid>. */
  gatewayIssuer?: string;
  gatewayMaxTtlMs?: number;
  /** identity.max_token_lifetime: longest an OIDC token may still be valid. Default 24 h. */
  maxTokenLifetimeMs?: number;
  fetch?: FetchLike;
  /** Passed to every OIDC verifier (timeouts, JWKS cooldown, retry after failure). */
  oidc?: Pick<OidcVerifierOptions, "timeoutMs" | "jwksCooldownMs" | "jwksMaxAgeMs" | "retryMs">;
  /** Verified tokens kept in memory. Default 10,000. */
  cacheSize?: number;
}

const MAX_TOKEN_LENGTH = 16 * 1024;
const ALLOWED = new Set<string>(OIDC_ALGORITHMS);

export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const gatewayIss = opts.gatewayKey ? (opts.gatewayIssuer ?? defaultGatewayIssuer(opts.gatewayKey)) : null;
  const verifiers = new Map<string, (token: string) => Promise<Identity>>();
  for (const iss of opts.issuers) {
    const v = createOidcVerifier({
      ...iss,
      ...opts.oidc,
      agentGroups: opts.agentGroups,
      fetch: opts.fetch,
      ...(opts.maxTokenLifetimeMs !== undefined ? { maxLifetimeMs: opts.maxTokenLifetimeMs } : {}),
    });
    verifiers.set(iss.issuer, (t) => v.verify(t));
  }
  if (opts.gatewayKey && gatewayIss) {
    const key = opts.gatewayKey;
    verifiers.set(gatewayIss, (t) =>
      verifyGatewayToken(key, t, { issuer: gatewayIss, maxTtlMs: opts.gatewayMaxTtlMs }),
    );
  }
  const cacheSize = opts.cacheSize ?? 10_000;
  const cache = new Map<string, Identity>();
  const inFlight = new Map<string, Promise<AuthResult>>();

  async function verify(token: string, hash: string): Promise<AuthResult> {
    const fingerprint = hash.slice(0, 8);
    let claimed: { iss?: unknown; sub?: unknown; alg?: unknown; kid?: unknown } = {};
    try {
      const header = decodeProtectedHeader(token);
      const payload = decodeJwt(token);
      claimed = { iss: payload.iss, sub: payload.sub, alg: header.alg, kid: header.kid };
    } catch (err) {
      return fail("identity.malformed", "malformed token", { reason: (err as Error).message, fingerprint });
    }
    // Unverified fields: recorded as claims, never trusted.
    const context = {
      fingerprint,
      claimedIssuer: claimed.iss,
      claimedSubject: claimed.sub,
      alg: claimed.alg,
      kid: claimed.kid,
    };
    const verifier = typeof claimed.iss === "string" ? verifiers.get(claimed.iss) : undefined;
    if (!verifier)
      return fail("identity.untrusted_issuer", "token issuer is not trusted", {
        ...context,
        reason: "no configured issuer matches iss",
      });
    // Refused before any key lookup, so HMAC tokens never make us fetch a JWKS.
    if (typeof claimed.alg !== "string" || !ALLOWED.has(claimed.alg)) {
      return fail("identity.algorithm", "token algorithm is not allowed", {
        ...context,
        reason: `alg ${String(claimed.alg)} is not allowed`,
      });
    }
    try {
      const identity = withAgentGroups(await verifier(token), opts.agentGroups);
      if (identity.subject.trim() === "") {
        throw new CustosError("identity.invalid", "invalid token", { reason: "sub is empty" });
      }
      deepFreeze(identity);
      remember(hash, identity);
      return { ok: true, identity };
    } catch (err) {
      const error = mapError(err);
      return {
        ok: false,
        error: new CustosError(error.code, error.message, { ...context, ...error.detail }),
      };
    }
  }

  function remember(hash: string, identity: Identity) {
    if (cache.size >= cacheSize) {
      const now = Date.now();
      for (const [k, v] of cache) if (v.expiresAt <= now) cache.delete(k);
      // Still full: drop the oldest entries (Map keeps insertion order).
      for (const k of cache.keys()) {
        if (cache.size < cacheSize) break;
        cache.delete(k);
      }
    }
    cache.set(hash, identity);
  }

  return {
    async authenticate(token) {
      if (typeof token !== "string" || token.length === 0)
        return fail("identity.missing", "no identity token was presented", {});
      if (token.length > MAX_TOKEN_LENGTH) {
        return fail("identity.malformed", "malformed token", {
          reason: `token is ${token.length} bytes, over ${MAX_TOKEN_LENGTH}`,
        });
      }
      const hash = createHash("sha256").update(token).digest("hex");
      const hit = cache.get(hash);
      if (hit) {
        if (hit.expiresAt > Date.now()) return { ok: true, identity: hit };
        cache.delete(hash);
      }
      const pending = inFlight.get(hash);
      if (pending) return pending;
      // verify() maps every expected failure itself; the catch keeps the never-throws promise for the rest.
      const run = verify(token, hash)
        .catch((err): AuthResult => fail("identity.invalid", "invalid token", { reason: String(err) }))
        .finally(() => inFlight.delete(hash));
      inFlight.set(hash, run);
      return run;
    },
    recheck(identity) {
      if (Date.now() >= identity.expiresAt)
        return fail("identity.expired", "the identity's proof has expired", { subject: identity.subject });
      // A certificate outlives nothing it was issued under: an issuer removed from the configuration since.
      if (!verifiers.has(identity.issuer))
        return fail("identity.untrusted_issuer", "token issuer is not trusted", {
          claimedIssuer: identity.issuer,
          reason: "the issuer of a kept identity is no longer configured",
        });
      const kept = withAgentGroups(identity, opts.agentGroups);
      deepFreeze(kept);
      return { ok: true, identity: kept };
    },
  };
}

/**
 * identity.agent_groups decides the kind for every identity, OIDC or gateway token: a member of an agent
 * group is an agent whatever its token claims, so the agent rules cannot be escaped by minting a token
 * of another kind.
 */
export function withAgentGroups(identity: Identity, agentGroups: readonly string[]): Identity {
  if (identity.kind === "agent" || !identity.groups.some((g) => agentGroups.includes(g))) return identity;
  return { ...identity, kind: "agent" };
}

function fail(code: ErrorCode, message: string, detail: Record<string, unknown>): AuthResult {
  return { ok: false, error: new CustosError(code, message, detail) };
}

/** jose and verifier errors to a client-safe message plus the full reason. */
function mapError(err: unknown): { code: ErrorCode; message: string; detail: Record<string, unknown> } {
  if (err instanceof CustosError) return { code: err.code, message: err.message, detail: { ...err.detail } };
  const reason = err instanceof Error ? err.message : String(err);
  const joseCode = (err as { code?: unknown }).code;
  const detail = { reason, joseCode };
  if (err instanceof errors.JWTExpired)
    return { code: "identity.expired", message: "token has expired", detail };
  if (err instanceof errors.JWTClaimValidationFailed) {
    const claim = { ...detail, claim: err.claim, claimReason: err.reason };
    if (err.claim === "aud")
      return {
        code: "identity.wrong_audience",
        message: "token is not meant for this gateway",
        detail: claim,
      };
    if (err.claim === "iss")
      return { code: "identity.untrusted_issuer", message: "token issuer is not trusted", detail: claim };
    if (err.claim === "nbf")
      return { code: "identity.invalid", message: "token is not valid yet", detail: claim };
    return { code: "identity.invalid", message: "invalid token", detail: claim };
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return { code: "identity.algorithm", message: "token algorithm is not allowed", detail };
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return { code: "identity.malformed", message: "malformed token", detail };
  }
  return { code: "identity.invalid", message: "invalid token", detail };
}

function deepFreeze(identity: Identity): void {
  Object.freeze(identity.groups);
  if (identity.context.amr) Object.freeze(identity.context.amr);
  Object.freeze(identity.context);
  Object.freeze(identity);
}
