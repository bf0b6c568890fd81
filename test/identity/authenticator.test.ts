// End to end: the authenticator against a real OIDC issuer on loopback and a real gateway key.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import {
  type AuthenticatorOptions,
  type AuthResult,
  createAuthenticator,
} from "../../src/identity/authenticator.ts";
import { type GatewayKey, loadOrCreateGatewayKey } from "../../src/identity/gateway-key.ts";
import { gatewayIssuer, issueGatewayToken } from "../../src/identity/gateway-tokens.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

let idp: OidcIssuer;
let gatewayKey: GatewayKey;

beforeAll(async () => {
  [idp, gatewayKey] = await Promise.all([
    startOidcIssuer(),
    loadOrCreateGatewayKey(mkdtempSync(join(tmpdir(), "custos-auth-"))),
  ]);
});
afterAll(() => idp.stop());

function auth(extra: Partial<AuthenticatorOptions> = {}) {
  return createAuthenticator({
    issuers: [{ issuer: idp.issuer, audience: "custos", groupsClaim: "groups" }],
    agentGroups: ["agents"],
    gatewayKey,
    ...extra,
  });
}

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: idp.issuer,
  aud: "custos",
  sub: "alice@example.com",
  groups: ["dba"],
  ...extra,
});

function refused(result: AuthResult, code: string, message?: string) {
  expect(result.ok).toBe(false);
  if (result.ok) return undefined as never;
  expect(result.error.code as string).toBe(code);
  if (message) expect(result.error.message).toBe(message);
  return result.error;
}

function accepted(result: AuthResult) {
  if (!result.ok)
    throw new Error(`expected success, got ${result.error.code}: ${JSON.stringify(result.error.detail)}`);
  return result.identity;
}

describe("OIDC tokens", () => {
  test("a valid token yields the identity with its context", async () => {
    const token = await idp.mint(
      claims({ amr: ["pwd", "mfa"], acr: "urn:mfa", azp: "agent-cli", act: { sub: "bot-7" }, jti: "tok-1" }),
    );
    const identity = accepted(await auth().authenticate(token));
    expect(identity).toEqual({
      subject: "alice@example.com",
      issuer: idp.issuer,
      groups: ["dba"],
      kind: "human",
      method: "oidc",
      expiresAt: decodeJwt(token).exp! * 1000,
      context: {
        amr: ["pwd", "mfa"],
        acr: "urn:mfa",
        clientId: "agent-cli",
        actor: "bot-7",
        tokenId: "tok-1",
      },
    });
  });

  test("ES256 and PS256 tokens verify; client_id is read when azp is absent", async () => {
    const a = auth();
    for (const alg of ["ES256", "PS256"] as const) {
      const identity = accepted(await a.authenticate(await idp.mint(claims({ client_id: "c1" }), { alg })));
      expect(identity.context.clientId).toBe("c1");
    }
  });

  test("members of agent_groups are agents", async () => {
    const identity = accepted(await auth().authenticate(await idp.mint(claims({ groups: ["x", "agents"] }))));
    expect(identity.kind).toBe("agent");
  });

  test("groups from an array, a space or comma separated string, a nested claim, or absent", async () => {
    const a = auth();
    const groupsOf = async (extra: Record<string, unknown>) =>
      accepted(await a.authenticate(await idp.mint(claims(extra)))).groups;
    expect(await groupsOf({ groups: ["a", "b"] })).toEqual(["a", "b"]);
    expect(await groupsOf({ groups: "a b  c" })).toEqual(["a", "b", "c"]);
    expect(await groupsOf({ groups: "a,b, c" })).toEqual(["a", "b", "c"]);
    expect(await groupsOf({ groups: undefined })).toEqual([]);
    const nested = createAuthenticator({
      issuers: [{ issuer: idp.issuer, audience: "custos", groupsClaim: "realm_access.roles" }],
      agentGroups: ["agents"],
      gatewayKey: null,
    });
    const identity = accepted(
      await nested.authenticate(await idp.mint(claims({ realm_access: { roles: ["agents"] } }))),
    );
    expect(identity.groups).toEqual(["agents"]);
    expect(identity.kind).toBe("agent");
  });

  test("a groups claim of the wrong type is refused", async () => {
    const err = refused(
      await auth().authenticate(await idp.mint(claims({ groups: [1, 2] }))),
      "identity.invalid",
    );
    expect(err.detail?.reason).toBe('groups claim "groups" is neither a string nor a list of strings');
  });

  test("expired beyond the 30 s leeway is refused; within it, accepted", async () => {
    const a = auth();
    const now = Math.floor(Date.now() / 1000);
    refused(
      await a.authenticate(await idp.mint(claims({ iat: now - 600, exp: now - 60 }))),
      "identity.expired",
      "token has expired",
    );
    accepted(await a.authenticate(await idp.mint(claims({ iat: now - 600, exp: now - 10 }))));
  });

  test("nbf in the future is refused", async () => {
    const now = Math.floor(Date.now() / 1000);
    const err = refused(
      await auth().authenticate(await idp.mint(claims({ nbf: now + 120 }))),
      "identity.invalid",
      "token is not valid yet",
    );
    expect(err.detail?.claim).toBe("nbf");
  });

  test("wrong audience is refused", async () => {
    refused(
      await auth().authenticate(await idp.mint(claims({ aud: "someone-else" }))),
      "identity.wrong_audience",
      "token is not meant for this gateway",
    );
  });

  test("an unknown or missing issuer is refused without contacting anyone", async () => {
    const a = auth();
    const before = idp.requests + idp.discoveries;
    refused(
      await a.authenticate(await idp.mint(claims({ iss: "https://evil.example" }))),
      "identity.untrusted_issuer",
      "token issuer is not trusted",
    );
    refused(await a.authenticate(await idp.mint(claims({ iss: undefined }))), "identity.untrusted_issuer");
    expect(idp.requests + idp.discoveries).toBe(before);
  });

  test("missing sub or exp is refused", async () => {
    const a = auth();
    const noSub = refused(
      await a.authenticate(await idp.mint(claims({ sub: undefined }))),
      "identity.invalid",
    );
    expect(noSub.detail?.claim).toBe("sub");
    const noExp = refused(
      await a.authenticate(await idp.mint(claims(), { expiresIn: null })),
      "identity.invalid",
    );
    expect(noExp.detail?.claim).toBe("exp");
  });

  test("a forged signature (a key the issuer never published, same kid) is refused", async () => {
    const token = await idp.mint(claims(), { key: "foreign" });
    const err = refused(await auth().authenticate(token), "identity.invalid", "invalid token");
    expect(err.detail?.joseCode).toBe("ERR_JWS_SIGNATURE_VERIFICATION_FAILED");
  });

  test("alg none and HS256 keyed with the public key are refused before any key lookup", async () => {
    const a = auth();
    const before = idp.requests + idp.discoveries;
    const none = refused(await a.authenticate(idp.mintUnsigned(claims())), "identity.algorithm");
    expect(none.message).toBe("token algorithm is not allowed");
    expect(none.detail?.reason).toBe("alg none is not allowed");
    refused(await a.authenticate(idp.mintHmac(claims())), "identity.algorithm");
    expect(idp.requests + idp.discoveries).toBe(before);
  });

  test("malformed, empty and oversized tokens", async () => {
    const a = auth();
    refused(await a.authenticate(""), "identity.missing", "no identity token was presented");
    refused(await a.authenticate("hunter2"), "identity.malformed", "malformed token");
    refused(await a.authenticate("a.b.c"), "identity.malformed");
    const huge = refused(await a.authenticate(`${"a".repeat(20_000)}.b.c`), "identity.malformed");
    expect(huge.detail?.reason).toBe("token is 20004 bytes, over 16384");
  });

  test("error details carry a fingerprint and the reason, never the token", async () => {
    const token = await idp.mint(claims({ aud: "other" }));
    const err = refused(await auth().authenticate(token), "identity.wrong_audience");
    const detail = JSON.stringify(err.detail);
    expect(detail).not.toContain(token.split(".")[2]!);
    expect(detail).not.toContain(token.split(".")[1]!);
    expect(err.detail?.fingerprint).toBe(
      new Bun.CryptoHasher("sha256").update(token).digest("hex").slice(0, 8),
    );
    expect(err.detail?.claimedSubject).toBe("alice@example.com");
    expect(err.detail?.reason).toBe('unexpected "aud" claim value');
  });

  test("discovery naming another issuer is refused as unavailable", async () => {
    const issuer = `http://localhost:${idp.port}`; // discovery document says 127.0.0.1
    const a = createAuthenticator({
      issuers: [{ issuer, audience: "custos", groupsClaim: "groups" }],
      agentGroups: [],
      gatewayKey: null,
    });
    const err = refused(
      await a.authenticate(await idp.mint(claims({ iss: issuer }))),
      "identity.jwks_unavailable",
    );
    expect(err.detail?.reason).toBe(`discovery names issuer "${idp.issuer}"`);
  });
});

describe("JWKS caching, rotation and outages", () => {
  test("unknown kid refetches the JWKS after rotation, at most once per cooldown", async () => {
    const issuer = await startOidcIssuer();
    try {
      const a = createAuthenticator({
        issuers: [{ issuer: issuer.issuer, audience: "custos", groupsClaim: "groups" }],
        agentGroups: [],
        gatewayKey: null,
        oidc: { jwksCooldownMs: 300 },
      });
      const c = { ...claims(), iss: issuer.issuer };
      accepted(await a.authenticate(await issuer.mint(c)));
      expect(issuer.requests).toBe(1);
      accepted(await a.authenticate(await issuer.mint({ ...c, sub: "bob" })));
      expect(issuer.requests).toBe(1); // cached

      // Rotated key not yet known and the cooldown still running: refused without refetching.
      issuer.rotateKey();
      const rotated = await issuer.mint(c, { key: "rotated" });
      const err = refused(await a.authenticate(rotated), "identity.invalid");
      expect(err.detail?.joseCode).toBe("ERR_JWKS_NO_MATCHING_KEY");
      expect(issuer.requests).toBe(1);

      // Minted ahead so the flood below lands well inside the cooldown even on a busy machine.
      const flood = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          issuer.mint({ ...c, jti: `f${i}` }, { key: "foreign", kid: `k${i}` }),
        ),
      );
      await Bun.sleep(350);
      accepted(await a.authenticate(rotated));
      expect(issuer.requests).toBe(2);

      // A flood of unknown kids right after a fetch does not reach the issuer.
      const results = await Promise.all(flood.map((t) => a.authenticate(t)));
      for (const r of results) refused(r, "identity.invalid");
      expect(issuer.requests).toBe(2);

      // After the cooldown the flood costs one fetch, not fifty.
      await Bun.sleep(350);
      const again = await Promise.all(flood.map((t) => a.authenticate(t)));
      for (const r of again) refused(r, "identity.invalid");
      expect(issuer.requests).toBe(3);
    } finally {
      await issuer.stop();
    }
  });

  test("issuer down at first use: jwks_unavailable, fast failures meanwhile, recovery later", async () => {
    const issuer = await startOidcIssuer();
    let fetches = 0;
    try {
      const a = createAuthenticator({
        issuers: [{ issuer: issuer.issuer, audience: "custos", groupsClaim: "groups" }],
        agentGroups: [],
        gatewayKey: null,
        oidc: { retryMs: 800, timeoutMs: 1_000 },
        fetch: (url, init) => {
          fetches++;
          return fetch(url, init);
        },
      });
      const token = await issuer.mint({ ...claims(), iss: issuer.issuer });
      await issuer.down();
      const err = refused(
        await a.authenticate(token),
        "identity.jwks_unavailable",
        "identity provider keys are unavailable",
      );
      expect(String(err.detail?.reason)).toStartWith(
        `discovery at ${issuer.issuer}/.well-known/openid-configuration failed`,
      );
      expect(fetches).toBe(1);
      for (let i = 0; i < 20; i++) refused(await a.authenticate(token), "identity.jwks_unavailable");
      expect(fetches).toBe(1); // within retryMs nothing is sent

      await issuer.up();
      refused(await a.authenticate(token), "identity.jwks_unavailable"); // still inside the retry window
      expect(fetches).toBe(1);
      await Bun.sleep(850);
      accepted(await a.authenticate(token));
      expect(fetches).toBe(3); // discovery + JWKS
    } finally {
      await issuer.stop();
    }
  });

  test("issuer down after keys were fetched: cached keys serve until they age out, then unavailable", async () => {
    const issuer = await startOidcIssuer();
    try {
      const a = createAuthenticator({
        issuers: [{ issuer: issuer.issuer, audience: "custos", groupsClaim: "groups" }],
        agentGroups: [],
        gatewayKey: null,
        oidc: { jwksMaxAgeMs: 600, retryMs: 200, timeoutMs: 1_000 },
      });
      const c = { ...claims(), iss: issuer.issuer };
      accepted(await a.authenticate(await issuer.mint(c)));
      await issuer.down();
      accepted(await a.authenticate(await issuer.mint({ ...c, jti: "2" })));
      await Bun.sleep(650);
      const err = refused(
        await a.authenticate(await issuer.mint({ ...c, jti: "3" })),
        "identity.jwks_unavailable",
      );
      expect(String(err.detail?.reason)).toStartWith("JWKS fetch failed");
      await issuer.up();
      await Bun.sleep(250);
      accepted(await a.authenticate(await issuer.mint({ ...c, jti: "4" })));
    } finally {
      await issuer.stop();
    }
  });
});

describe("gateway tokens through the authenticator", () => {
  test("valid, with its kind; tampered and foreign-key tokens refused", async () => {
    const a = auth();
    const token = await issueGatewayToken(gatewayKey, {
      subject: "etl",
      groups: ["agents"],
      kind: "agent",
      ttlMs: 60_000,
    });
    const identity = accepted(await a.authenticate(token));
    expect(identity.method).toBe("gateway_token");
    expect(identity.issuer).toBe(gatewayIssuer(gatewayKey));
    expect(identity.kind).toBe("agent");
    const [h, , s] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(token), sub: "root" })).toString("base64url");
    refused(await a.authenticate(`${h}.${forged}.${s}`), "identity.invalid", "invalid token");
  });

  test("gateway tokens are refused when the gateway key is not configured", async () => {
    const token = await issueGatewayToken(gatewayKey, { subject: "etl", ttlMs: 60_000 });
    const a = createAuthenticator({ issuers: [], agentGroups: [], gatewayKey: null });
    refused(await a.authenticate(token), "identity.untrusted_issuer");
  });
});

describe("verified-token cache", () => {
  test("the same token is verified once, also under a concurrent reconnect storm", async () => {
    const a = auth();
    const token = await idp.mint(claims({ jti: "storm" }));
    const results = await Promise.all(Array.from({ length: 20 }, () => a.authenticate(token)));
    const first = accepted(results[0]!);
    for (const r of results) expect(accepted(r)).toBe(first);
    expect(accepted(await a.authenticate(token))).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.groups)).toBe(true);
  });

  test("a cached identity stops being served once the token expires", async () => {
    const a = auth();
    const now = Math.floor(Date.now() / 1000);
    // Expired 31 s ago minus a little: accepted under the leeway, but past exp, so never cached.
    const token = await idp.mint(claims({ iat: now - 600, exp: now - 5 }));
    const first = accepted(await a.authenticate(token));
    const second = accepted(await a.authenticate(token));
    expect(second).not.toBe(first);
  });

  test("the cache is bounded", async () => {
    const a = auth({ cacheSize: 3 });
    const tokens = await Promise.all([1, 2, 3, 4, 5].map((i) => idp.mint(claims({ jti: `b${i}` }))));
    const first = [];
    for (const t of tokens) first.push(accepted(await a.authenticate(t)));
    // The oldest two were evicted: re-verified into new objects; the newest is still cached.
    expect(accepted(await a.authenticate(tokens[4]!))).toBe(first[4]!);
    expect(accepted(await a.authenticate(tokens[0]!))).not.toBe(first[0]!);
  });

  test("measure: µs per verification and per cached hit", async () => {
    const a = auth();
    const n = 200;
    const tokens = await Promise.all(Array.from({ length: n }, (_, i) => idp.mint(claims({ jti: `m${i}` }))));
    const es = await Promise.all(
      Array.from({ length: n }, (_, i) => idp.mint(claims({ jti: `e${i}` }), { alg: "ES256" })),
    );
    const gw = await Promise.all(
      Array.from({ length: n }, () => issueGatewayToken(gatewayKey, { subject: "s", ttlMs: 60_000 })),
    );
    accepted(await a.authenticate(await idp.mint(claims({ jti: "warm" }))));
    const time = async (list: string[]) => {
      const t0 = performance.now();
      for (const t of list) accepted(await a.authenticate(t));
      return ((performance.now() - t0) * 1000) / list.length;
    };
    const rs256 = await time(tokens);
    const es256 = await time(es);
    const eddsa = await time(gw);
    const hit = await time([...tokens, ...tokens, ...tokens, ...tokens, ...tokens]);
    console.log(
      `authenticate: RS256 ${rs256.toFixed(0)} µs, ES256 ${es256.toFixed(0)} µs, gateway EdDSA ${eddsa.toFixed(0)} µs per verification; cached hit ${hit.toFixed(1)} µs`,
    );
    expect(hit).toBeLessThan(rs256);
  });
});

describe("recheck of a kept identity (an SSH certificate's record)", () => {
  test("live and still trusted: accepted, with today's agent groups applied", async () => {
    const identity = accepted(await auth().authenticate(await idp.mint(claims({ groups: ["dba", "bots"] }))));
    expect(identity.kind).not.toBe("agent");
    expect(accepted(auth().recheck(identity)).kind).not.toBe("agent");
    // identity.agent_groups changed since the certificate was issued: the kept identity is an agent now.
    expect(accepted(auth({ agentGroups: ["bots"] }).recheck(identity)).kind).toBe("agent");
  });

  test("expired, or its issuer no longer configured: refused", async () => {
    const identity = accepted(await auth().authenticate(await idp.mint(claims())));
    refused(auth().recheck({ ...identity, expiresAt: Date.now() - 1 }), "identity.expired");
    refused(auth({ issuers: [] }).recheck(identity), "identity.untrusted_issuer");
    refused(
      auth().recheck({ ...identity, issuer: "https://elsewhere.example" }),
      "identity.untrusted_issuer",
    );
  });
});
