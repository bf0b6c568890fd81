// Tokens this gateway signs itself (for services and agents without an IdP): EdDSA JWS with
// iss "custos:<kid>" (the gateway key's RFC 7638 thumbprint, so every gateway sharing a data_dir key
// agrees, and a new key yields a new issuer), aud "custos", sub, groups, kind, jti, iat, exp.
import { randomUUID } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";
import { CustosError } from "../core/errors.ts";
import type { Identity, IdentityKind } from "../core/identity.ts";
import type { GatewayKey } from "./gateway-key.ts";

export const GATEWAY_AUDIENCE = "custos";
export const DEFAULT_GATEWAY_MAX_TTL_MS = 24 * 3_600_000;
const KINDS: readonly IdentityKind[] = ["human", "agent", "service"];
const CLOCK_TOLERANCE_S = 30;

export function gatewayIssuer(key: Pick<GatewayKey, "kid">): string {
  return `custos:${key.kid}`;
}

export interface GatewayTokenRequest {
  subject: string;
  groups?: string[];
  kind?: IdentityKind;
  ttlMs: number;
  /** Defaults to gatewayIssuer(key). */
  issuer?: string;
  /** identity.gateway_tokens.max_ttl; default 24h. */
  maxTtlMs?: number;
}

export interface IssuedGatewayToken {
  token: string;
  /** The token's jti: how the audit log names it (the token itself is never recorded). */
  jti: string;
  issuer: string;
  subject: string;
  groups: string[];
  kind: IdentityKind;
  issuedAt: number;
  expiresAt: number;
}

/**
 * The kind an identity in `groups` has: an agent group makes it an agent, whatever was asked; a kind that
 * contradicts that is refused, not silently changed (`--groups agents --kind service`).
 */
export function resolveKind(
  groups: readonly string[],
  requested: IdentityKind | undefined,
  agentGroups: readonly string[],
): IdentityKind {
  const agentGroup = groups.find((g) => agentGroups.includes(g));
  if (agentGroup === undefined) return requested ?? "service";
  if (requested !== undefined && requested !== "agent") {
    throw new CustosError(
      "identity.invalid",
      `kind ${requested} contradicts group ${agentGroup}, one of identity.agent_groups: its members are agents`,
    );
  }
  return "agent";
}

export async function issueGatewayToken(key: GatewayKey, req: GatewayTokenRequest): Promise<string> {
  return (await mintGatewayToken(key, req)).token;
}

/** Signs a gateway token and returns it with what the audit log records about it. */
export async function mintGatewayToken(
  key: GatewayKey,
  req: GatewayTokenRequest,
): Promise<IssuedGatewayToken> {
  const maxTtlMs = req.maxTtlMs ?? DEFAULT_GATEWAY_MAX_TTL_MS;
  const kind = req.kind ?? "service";
  const groups = req.groups ?? [];
  const refuse = (message: string) => new CustosError("identity.invalid", message);
  if (!req.subject.trim()) throw refuse("a gateway token needs a subject");
  if (!KINDS.includes(kind)) throw refuse(`kind must be human, agent or service, got "${kind}"`);
  if (!groups.every((g) => typeof g === "string" && g.length > 0))
    throw refuse("groups must be non-empty strings");
  if (!Number.isInteger(req.ttlMs) || req.ttlMs < 1_000) throw refuse("ttl must be at least 1s");
  if (req.ttlMs > maxTtlMs) throw refuse(`ttl ${req.ttlMs}ms exceeds the maximum ${maxTtlMs}ms`);
  const now = Math.floor(Date.now() / 1000);
  const exp = now + Math.floor(req.ttlMs / 1000);
  const jti = randomUUID();
  const issuer = req.issuer ?? gatewayIssuer(key);
  const token = await new SignJWT({ groups, kind })
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "JWT" })
    .setIssuer(issuer)
    .setAudience(GATEWAY_AUDIENCE)
    .setSubject(req.subject)
    .setJti(jti)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(key.privateKey);
  return {
    token,
    jti,
    issuer,
    subject: req.subject,
    groups: [...groups],
    kind,
    issuedAt: now * 1000,
    expiresAt: exp * 1000,
  };
}

/** Verifies a gateway token; throws jose errors or CustosError (the authenticator maps both). */
export async function verifyGatewayToken(
  key: GatewayKey,
  token: string,
  opts: { issuer?: string; maxTtlMs?: number } = {},
): Promise<Identity> {
  const issuer = opts.issuer ?? gatewayIssuer(key);
  const { payload, protectedHeader } = await jwtVerify(token, key.publicKey, {
    algorithms: ["EdDSA"],
    issuer,
    audience: GATEWAY_AUDIENCE,
    clockTolerance: CLOCK_TOLERANCE_S,
    requiredClaims: ["sub", "exp", "iat", "jti"],
  });
  const invalid = (reason: string) =>
    new CustosError("identity.invalid", "invalid gateway token", { reason });
  if (protectedHeader.kid !== key.kid)
    throw invalid(`kid ${String(protectedHeader.kid)} is not the gateway key`);
  // A lowered max_ttl applies to tokens already issued: fail closed on anything longer.
  const maxTtlS = Math.floor((opts.maxTtlMs ?? DEFAULT_GATEWAY_MAX_TTL_MS) / 1000);
  if (payload.exp! - payload.iat! > maxTtlS) throw invalid(`lifetime exceeds the maximum ${maxTtlS}s`);
  const kind = payload.kind;
  if (!KINDS.includes(kind as IdentityKind)) throw invalid(`kind claim ${JSON.stringify(kind)} is not valid`);
  const groups = payload.groups;
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === "string")) {
    throw invalid("groups claim is not a list of strings");
  }
  return {
    subject: payload.sub!,
    issuer,
    groups: [...groups],
    kind: kind as IdentityKind,
    method: "gateway_token",
    expiresAt: payload.exp! * 1000,
    context: { tokenId: payload.jti! },
  };
}
