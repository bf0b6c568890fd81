import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader, errors, SignJWT } from "jose";
import { type GatewayKey, loadOrCreateGatewayKey } from "./gateway-key.ts";
import { gatewayIssuer, issueGatewayToken, verifyGatewayToken } from "./gateway-tokens.ts";

let key: GatewayKey;
let other: GatewayKey;

beforeAll(async () => {
  key = await loadOrCreateGatewayKey(mkdtempSync(join(tmpdir(), "custos-gt-")));
  other = await loadOrCreateGatewayKey(mkdtempSync(join(tmpdir(), "custos-gt-")));
});

describe("gateway tokens", () => {
  test("issue then verify: claims, kind default service, issuer custos:<kid>", async () => {
    const token = await issueGatewayToken(key, { subject: "batch-job", groups: ["etl"], ttlMs: 3_600_000 });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "EdDSA", kid: key.kid, typ: "JWT" });
    const claims = decodeJwt(token);
    expect(claims.iss).toBe(`custos:${key.kid}`);
    expect(claims.aud).toBe("custos");
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    const identity = await verifyGatewayToken(key, token);
    expect(identity).toEqual({
      subject: "batch-job",
      issuer: gatewayIssuer(key),
      groups: ["etl"],
      kind: "service",
      method: "gateway_token",
      expiresAt: claims.exp! * 1000,
      context: { tokenId: claims.jti! },
    });
  });

  test("the kind is carried", async () => {
    for (const kind of ["human", "agent", "service"] as const) {
      const token = await issueGatewayToken(key, { subject: "s", kind, ttlMs: 60_000 });
      expect((await verifyGatewayToken(key, token)).kind).toBe(kind);
    }
  });

  test("issuing refuses a ttl over the maximum and other bad requests", async () => {
    const cases: [Parameters<typeof issueGatewayToken>[1], string][] = [
      [{ subject: "s", ttlMs: 25 * 3_600_000 }, "ttl 90000000ms exceeds the maximum 86400000ms"],
      [
        { subject: "s", ttlMs: 2 * 3_600_000, maxTtlMs: 3_600_000 },
        "ttl 7200000ms exceeds the maximum 3600000ms",
      ],
      [{ subject: "s", ttlMs: 0 }, "ttl must be at least 1s"],
      [{ subject: " ", ttlMs: 60_000 }, "a gateway token needs a subject"],
      [
        { subject: "s", ttlMs: 60_000, kind: "root" as never },
        'kind must be human, agent or service, got "root"',
      ],
      [{ subject: "s", ttlMs: 60_000, groups: [""] }, "groups must be non-empty strings"],
    ];
    for (const [req, message] of cases) {
      const err = await issueGatewayToken(key, req).catch((e) => e);
      expect(err.code).toBe("identity.invalid");
      expect(err.message).toBe(message);
    }
  });

  test("an expired token is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ groups: [], kind: "service" })
      .setProtectedHeader({ alg: "EdDSA", kid: key.kid })
      .setIssuer(gatewayIssuer(key))
      .setAudience("custos")
      .setSubject("s")
      .setJti("j")
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(key.privateKey);
    expect(await verifyGatewayToken(key, token).catch((e) => e)).toBeInstanceOf(errors.JWTExpired);
  });

  test("a tampered token is refused", async () => {
    const token = await issueGatewayToken(key, { subject: "svc", groups: ["etl"], ttlMs: 60_000 });
    const [h, , s] = token.split(".");
    const claims = decodeJwt(token);
    const forged = Buffer.from(JSON.stringify({ ...claims, groups: ["admins"] })).toString("base64url");
    const err = await verifyGatewayToken(key, `${h}.${forged}.${s}`).catch((e) => e);
    expect(err).toBeInstanceOf(errors.JWSSignatureVerificationFailed);
  });

  test("a token from another gateway key is refused", async () => {
    const token = await issueGatewayToken(other, {
      subject: "svc",
      ttlMs: 60_000,
      issuer: gatewayIssuer(key),
    });
    expect(await verifyGatewayToken(key, token).catch((e) => e)).toBeInstanceOf(
      errors.JWSSignatureVerificationFailed,
    );
  });

  test("a token living longer than the (lowered) max ttl is refused", async () => {
    const token = await issueGatewayToken(key, { subject: "svc", ttlMs: 2 * 3_600_000 });
    const err = await verifyGatewayToken(key, token, { maxTtlMs: 3_600_000 }).catch((e) => e);
    expect(err.code).toBe("identity.invalid");
    expect(err.detail.reason).toBe("lifetime exceeds the maximum 3600s");
  });

  test("a validly signed token with a bad kind or groups claim is refused", async () => {
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "EdDSA", kid: key.kid })
        .setIssuer(gatewayIssuer(key))
        .setAudience("custos")
        .setSubject("s")
        .setJti("j")
        .setIssuedAt()
        .setExpirationTime("1m")
        .sign(key.privateKey);
    const badKind = await verifyGatewayToken(key, await sign({ kind: "root", groups: [] })).catch((e) => e);
    expect(badKind.detail.reason).toBe('kind claim "root" is not valid');
    const badGroups = await verifyGatewayToken(key, await sign({ kind: "agent", groups: "etl" })).catch(
      (e) => e,
    );
    expect(badGroups.detail.reason).toBe("groups claim is not a list of strings");
  });
});
