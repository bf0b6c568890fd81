// The identity-provider guides (docs/identity/*.md), held to what they say: each guide's `identity.issuers`
// entry is read from the guide itself, loaded through the config loader with the provider's host replaced
// by a loopback issuer serving the same path, and the authenticator is fed tokens shaped like that
// provider's (claims, key type, kid rotation). A token the guide says is refused must be refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { parseConfig } from "../../src/config/load.ts";
import { type AuthResult, createAuthenticator } from "../../src/identity/authenticator.ts";
import { type GatewayKey, loadOrCreateGatewayKey } from "../../src/identity/gateway-key.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

const DOCS = join(import.meta.dir, "../../docs/identity");
let gatewayKey: GatewayKey;
const issuers: OidcIssuer[] = [];

beforeAll(async () => {
  gatewayKey = await loadOrCreateGatewayKey(mkdtempSync(join(tmpdir(), "custos-idp-")));
});
afterAll(async () => {
  for (const i of issuers) await i.stop();
});

interface GuideIssuer {
  issuer: string;
  audience: string;
  groups_claim?: string;
}

/** The guide's first ```yaml block: its identity section. */
function guideIdentity(file: string): { issuers: GuideIssuer[]; agent_groups: string[] } {
  const text = readFileSync(join(DOCS, file), "utf8");
  const block = /```yaml\n([\s\S]*?)```/.exec(text)?.[1];
  if (!block) throw new Error(`${file} has no yaml block`);
  return (parseYaml(block) as { identity: { issuers: GuideIssuer[]; agent_groups: string[] } }).identity;
}

/** A loopback issuer with the guide entry's path, and an authenticator built from the guide's entries. */
async function fromGuide(file: string, index = 0, jwksCooldownMs?: number) {
  const identity = guideIdentity(file);
  const entry = identity.issuers[index]!;
  const idp = await startOidcIssuer({ path: new URL(entry.issuer).pathname });
  issuers.push(idp);
  const raw = {
    identity: { ...identity, issuers: [{ ...entry, issuer: idp.issuer }] },
  };
  const config = parseConfig(raw, tmpdir(), {});
  const auth = createAuthenticator({
    issuers: config.identity.issuers,
    agentGroups: config.identity.agentGroups,
    gatewayKey,
    ...(jwksCooldownMs === undefined ? {} : { oidc: { jwksCooldownMs } }),
  });
  return { idp, auth, entry, identity };
}

function accepted(result: AuthResult) {
  if (!result.ok)
    throw new Error(`expected success, got ${result.error.code}: ${JSON.stringify(result.error.detail)}`);
  return result.identity;
}

function refused(result: AuthResult, code: string) {
  expect(result.ok).toBe(false);
  if (result.ok) return undefined as never;
  expect(result.error.code as string).toBe(code);
  return result.error;
}

const now = () => Math.floor(Date.now() / 1000);

describe("Microsoft Entra ID (docs/identity/entra-id.md)", () => {
  const TENANT = "00000000-0000-0000-0000-00000000cafe";
  // A v2 app-only access token from the client credentials grant, as Entra shapes it.
  const appOnly = (iss: string, aud: string, extra: Record<string, unknown> = {}) => ({
    aud,
    iss,
    iat: now(),
    nbf: now(),
    aio: "k2BgYGiZ3L9x/8Wm3Oc+AA==",
    azp: "2b1c7d9e-0000-4000-8000-0000000a6e47",
    azpacr: "2",
    idp: iss,
    oid: "5e0c2f51-0000-4000-8000-00000000517a",
    rh: "0.AXwA-yU.",
    roles: ["Custos.Agent"],
    sub: "5e0c2f51-0000-4000-8000-00000000517a",
    tid: TENANT,
    uti: "bXlUaWQ",
    ver: "2.0",
    ...extra,
  });

  test("the guide's issuer is a v2 tenant issuer and its audience a client ID", () => {
    const {
      issuers: [entry],
    } = guideIdentity("entra-id.md");
    expect(entry!.issuer).toBe(`https://login.microsoftonline.com/${TENANT}/v2.0`);
    expect(entry!.audience).toMatch(/^[0-9a-f-]{36}$/);
    expect(entry!.groups_claim).toBe("roles");
  });

  test("an agent's client-credentials token: app roles are its groups, it is an agent", async () => {
    const { idp, auth, entry } = await fromGuide("entra-id.md");
    const token = await idp.mint(appOnly(idp.issuer, entry.audience), { alg: "RS256", expiresIn: "75m" });
    const id = accepted(await auth.authenticate(token));
    expect(id.subject).toBe("5e0c2f51-0000-4000-8000-00000000517a");
    expect(id.groups).toEqual(["Custos.Agent"]);
    expect(id.kind).toBe("agent");
    expect(id.context.clientId).toBe("2b1c7d9e-0000-4000-8000-0000000a6e47");
  });

  test("what the guide says is refused: a v1 issuer, the App ID URI as aud, a groups overage", async () => {
    const { idp, auth, entry } = await fromGuide("entra-id.md");
    // v1 token (API without requestedAccessTokenVersion 2): sts.windows.net issuer, URI audience.
    const v1 = await idp.mint(appOnly(`https://sts.windows.net/${TENANT}/`, "api://custos", { ver: "1.0" }));
    refused(await auth.authenticate(v1), "identity.untrusted_issuer");
    const uriAud = await idp.mint(appOnly(idp.issuer, "api://custos"));
    refused(await auth.authenticate(uriAud), "identity.wrong_audience");
    // With groups_claim: groups, a user in too many groups: no groups claim, a pointer to Graph.
    const byGroups = createAuthenticator({
      issuers: [{ issuer: idp.issuer, audience: entry.audience, groupsClaim: "groups" }],
      agentGroups: [],
      gatewayKey,
    });
    const overage = await idp.mint({
      ...appOnly(idp.issuer, entry.audience),
      roles: undefined,
      name: "Ada Lovelace",
      preferred_username: "ada@bank.example",
      scp: "access_as_user",
      _claim_names: { groups: "src1" },
      _claim_sources: {
        src1: { endpoint: `https://graph.windows.net/${TENANT}/users/5e0c2f51/getMemberObjects` },
      },
    });
    const err = refused(await byGroups.authenticate(overage), "identity.invalid");
    expect(String(err.detail?.reason)).toContain("Entra groups overage");
    // Groups that are there are object IDs, used as they are.
    const withGroups = await idp.mint({
      ...appOnly(idp.issuer, entry.audience),
      groups: ["9f8e7d6c-0000-4000-8000-00000000d8a1"],
    });
    expect(accepted(await byGroups.authenticate(withGroups)).groups).toEqual([
      "9f8e7d6c-0000-4000-8000-00000000d8a1",
    ]);
  });

  test("key rotation: a token signed with a kid published after Custos first fetched the JWKS", async () => {
    // The refetch on an unknown kid waits out a cooldown after the last fetch (30 s; 300 ms here).
    const { idp, auth, entry } = await fromGuide("entra-id.md", 0, 300);
    accepted(await auth.authenticate(await idp.mint(appOnly(idp.issuer, entry.audience))));
    const fetched = idp.requests;
    const kid = idp.rotateKey();
    await Bun.sleep(350);
    const rotated = await idp.mint(appOnly(idp.issuer, entry.audience), { key: "rotated", kid });
    accepted(await auth.authenticate(rotated));
    expect(idp.requests).toBe(fetched + 1);
    // A key that was never published stays refused.
    await Bun.sleep(350);
    refused(
      await auth.authenticate(await idp.mint(appOnly(idp.issuer, entry.audience), { key: "foreign" })),
      "identity.invalid",
    );
  });
});

describe("Okta (docs/identity/okta.md)", () => {
  test("the agents' authorization server: scopes are the groups of a client-credentials token", async () => {
    const { idp, auth, entry } = await fromGuide("okta.md", 0);
    expect(entry.issuer).toMatch(/^https:\/\/[a-z]+\.okta\.com\/oauth2\/\w+$/);
    const token = await idp.mint(
      {
        ver: 1,
        jti: "AT.Zk3q1oG1xRzE1o9Pq0tX4mB1",
        iss: idp.issuer,
        aud: entry.audience,
        iat: now(),
        cid: "0oa1agentreporting",
        scp: ["custos.agent"],
        sub: "0oa1agentreporting",
      },
      { alg: "RS256", expiresIn: "1h" },
    );
    const id = accepted(await auth.authenticate(token));
    expect(id.subject).toBe("0oa1agentreporting");
    expect(id.groups).toEqual(["custos.agent"]);
    expect(id.kind).toBe("agent");
    // A token of the org authorization server (issuer without /oauth2/<id>) is not trusted.
    const orgServer = await idp.mint({
      iss: new URL(idp.issuer).origin,
      aud: entry.audience,
      sub: "0oa1agentreporting",
    });
    refused(await auth.authenticate(orgServer), "identity.untrusted_issuer");
  });

  test("the people's authorization server: the filtered groups claim", async () => {
    const { idp, auth, entry } = await fromGuide("okta.md", 1);
    const token = await idp.mint({
      ver: 1,
      jti: "AT.q9",
      iss: idp.issuer,
      aud: entry.audience,
      iat: now(),
      cid: "0oa1console",
      uid: "00u1adalovelace",
      scp: ["openid", "profile"],
      sub: "ada@bank.example",
      groups: ["custos-dba"],
    });
    const id = accepted(await auth.authenticate(token));
    expect(id.groups).toEqual(["custos-dba"]);
    expect(id.kind).toBe("human");
  });
});

describe("Keycloak (docs/identity/keycloak.md)", () => {
  const kcToken = (iss: string, aud: string[] | string, roles: string[]) => ({
    iat: now(),
    jti: "onrtcc:0b6f3c3e-1d9a-4f0e-9a51-3f7c1e7d0a11",
    iss,
    aud,
    sub: "c0a8e1f2-0000-4000-8000-0000000000aa",
    typ: "Bearer",
    azp: "agent-reporting",
    acr: "1",
    "allowed-origins": ["/*"],
    realm_access: { roles: ["default-roles-bank", "offline_access", "uma_authorization", ...roles] },
    resource_access: { account: { roles: ["manage-account", "view-profile"] } },
    scope: "profile email",
    clientHost: "10.0.0.7",
    email_verified: false,
    preferred_username: "service-account-agent-reporting",
    clientAddress: "10.0.0.7",
    client_id: "agent-reporting",
  });

  test("a service account's token: aud from the audience mapper, realm roles as groups", async () => {
    const { idp, auth, entry } = await fromGuide("keycloak.md");
    expect(entry.groups_claim).toBe("realm_access.roles");
    const token = await idp.mint(kcToken(idp.issuer, [entry.audience, "account"], ["agents"]), {
      expiresIn: "5m",
    });
    const id = accepted(await auth.authenticate(token));
    expect(id.groups).toContain("agents");
    expect(id.kind).toBe("agent");
    expect(id.context.clientId).toBe("agent-reporting");
  });

  test("an ES256 realm key works; a client without the audience mapper is refused", async () => {
    const { idp, auth, entry } = await fromGuide("keycloak.md");
    const es = await idp.mint(kcToken(idp.issuer, entry.audience, ["dba"]), { alg: "ES256" });
    expect(accepted(await auth.authenticate(es)).groups).toContain("dba");
    const noMapper = await idp.mint(kcToken(idp.issuer, "account", ["agents"]));
    refused(await auth.authenticate(noMapper), "identity.wrong_audience");
  });
});
