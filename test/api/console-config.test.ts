// The `console` config section: roles and the OIDC client, and a clear error naming the key for each mistake.
import { expect, test } from "bun:test";
import { parseConfig } from "../../src/config/load.ts";

const ISSUER = "https://login.example.com";
const base = (console: unknown) => ({
  identity: { issuers: [{ issuer: ISSUER, audience: "custos" }] },
  console,
});
const parse = (console: unknown, env: Record<string, string> = {}) => parseConfig(base(console), "/tmp", env);

test("roles and the OIDC client resolve; openid is always asked for; the secret comes from the environment", () => {
  const c = parse(
    {
      roles: { admin: ["sec"], auditor: ["audit"] },
      oidc: {
        issuer: ISSUER,
        client_id: "console",
        client_secret_env: "CONSOLE_SECRET",
        scopes: ["profile"],
      },
    },
    { CONSOLE_SECRET: "s3cret-value" },
  ).console;
  expect(c.roles).toEqual({ admin: ["sec"], approver: [], auditor: ["audit"] });
  expect(c.oidc).toMatchObject({
    issuer: ISSUER,
    clientId: "console",
    redirectUrl: null,
    scopes: ["openid", "profile"],
  });
  expect(c.oidc?.clientSecret?.reveal()).toBe("s3cret-value");
  expect(JSON.stringify(c)).not.toContain("s3cret-value");
});

test("absent, the console has no roles and no browser sign-in", () => {
  expect(parseConfig({}, "/tmp").console).toEqual({
    roles: { admin: [], approver: [], auditor: [] },
    sessionTtlMs: 8 * 3_600_000,
    oidc: null,
  });
});

test("each mistake is one message naming the key", () => {
  const cases: [unknown, string][] = [
    [{ roles: { owner: ["x"] } }, "console.roles.owner: unknown key"],
    [{ roles: { admin: "sec" } }, "console.roles.admin: expected array"],
    [{ roles: { admin: [""] } }, "console.roles.admin[0]: must not be empty"],
    [
      { oidc: { issuer: "https://other.example.com", client_id: "c" } },
      'console.oidc.issuer: "https://other.example.com" is not one of identity.issuers',
    ],
    [
      { oidc: { issuer: "http://login.example.com", client_id: "c" } },
      "console.oidc.issuer: expected an https:// URL",
    ],
    [{ oidc: { issuer: ISSUER } }, "console.oidc.client_id: is required"],
    [
      { oidc: { issuer: ISSUER, client_id: "c", client_secret: "inline" } },
      "console.oidc.client_secret: unknown key",
    ],
    [
      { oidc: { issuer: ISSUER, client_id: "c", client_secret_env: "MISSING_VAR" } },
      "console.oidc.client_secret_env: environment variable MISSING_VAR is not set",
    ],
    [
      { oidc: { issuer: ISSUER, client_id: "c", client_secret_env: "A", client_secret_file: "/x" } },
      "console.oidc.client_secret_file: use either client_secret_env or client_secret_file",
    ],
    [{ oidc: { issuer: ISSUER, client_id: "c", redirect_url: "ftp://x/cb" } }, "console.oidc.redirect_url"],
    [{ extra: true }, "console.extra: unknown key"],
  ];
  for (const [input, message] of cases) {
    expect(() => parse(input, { A: "a" }), message).toThrow(message);
  }
});
