// Policy bundle lifecycle through the live gateway: reload on SIGHUP (gw.reloadPolicy), reload on file
// change (watchPolicy), a broken bundle refused while the old one keeps deciding, and no bundle at all.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { createLogger } from "../../src/core/log.ts";
import { type RunningGateway, startGateway } from "../../src/gateway.ts";
import { buildBundle, DEFAULT_POLICY_DIR } from "../../src/policy/opa.ts";
import { buildInlineBundle } from "../policy/support.ts";
import { freePort } from "../support/free-port.ts";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { defaultBundle } from "../support/policy-bundle.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { type AuditReader, auditReader, eventually } from "./support.ts";

const LOCKDOWN = `package custos
decision := {"action": "deny", "reason": "locked down for the test", "rule": "test.lockdown", "mask": [], "record": "sync"}
`;

let db: PgServer;
let issuer: OidcIssuer;
let dir: string;
let lockdown: string;

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  dir = mkdtempSync(join(tmpdir(), "custos-reload-"));
  lockdown = buildInlineBundle(LOCKDOWN, join(dir, "lockdown.tar.gz"));
  await defaultBundle();
});

afterAll(async () => {
  await Promise.all([db?.stop(), issuer?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** What an agent's `SELECT 1` gets: "ok" or the error line psql printed. */
async function agentSelect(gw: { url(t: string): string }, token: string): Promise<string> {
  const r = await psql(gw.url(token), ["-tAc", "SELECT 1"]);
  return r.code === 0 ? r.stdout.trim() : r.stderr.trim();
}

describe("reload on SIGHUP (gw.reloadPolicy)", () => {
  let gw: TestGateway;
  let audit: AuditReader;
  let bundlePath: string;
  let token: string;

  beforeAll(async () => {
    bundlePath = join(dir, "sighup.tar.gz");
    copyFileSync(await defaultBundle(), bundlePath);
    gw = await startTestGateway({ pg: db, issuer, policyBundle: bundlePath });
    audit = await auditReader(gw);
    token = await gw.token("agent-7", ["agents"]);
  });

  afterAll(async () => {
    await audit?.close();
    await gw?.stop();
  });

  test("a rebuilt bundle applies to the next statement, cached decisions included", async () => {
    expect(await agentSelect(gw, token)).toBe("1"); // now cached under the old bundle
    const before = gw.gw.policy.hash;
    copyFileSync(lockdown, bundlePath);
    expect(await gw.gw.reloadPolicy()).toBe(true);
    expect(gw.gw.policy.hash).not.toBe(before);
    expect(await agentSelect(gw, token)).toContain("locked down for the test (rule test.lockdown)");
    const reloads = await eventually(async () => {
      const events = await audit.gatewayEvents("policy.reload");
      return events.length >= 1 ? events : undefined;
    });
    expect(reloads.at(-1)!.data).toEqual({ ok: true, bundle: gw.gw.policy.hash! });
  });

  test("a broken bundle is refused with a clear log line and an audit event; the old one keeps deciding", async () => {
    const kept = gw.gw.policy.hash;
    writeFileSync(bundlePath, "this is not a bundle");
    expect(await gw.gw.reloadPolicy()).toBe(false);
    expect(gw.gw.policy.hash).toBe(kept);
    expect(await agentSelect(gw, token)).toContain("(rule test.lockdown)");
    const line = gw.logs.find((l) => l.includes("policy bundle refused; keeping the previous one"));
    expect(line).toContain("not a gzip archive");
    const refused = await eventually(async () => {
      const events = await audit.gatewayEvents("policy.reload");
      return events.find((e) => e.data.ok === false);
    });
    expect(refused.data).toMatchObject({
      ok: false,
      bundle: kept!,
      error: expect.stringContaining("not a gzip archive"),
    });

    // A bundle that gunzips but holds no policy is refused the same way.
    writeFileSync(bundlePath, Bun.gzipSync(new Uint8Array(1024)));
    expect(await gw.gw.reloadPolicy()).toBe(false);
    expect(gw.gw.policy.hash).toBe(kept);
  });
});

describe("reload on file change (watchPolicy)", () => {
  let gw: RunningGateway;
  let bundlePath: string;
  let dataDir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "custos-watch-"));
    const watchDir = mkdtempSync(join(dir, "watched-"));
    bundlePath = join(watchDir, "bundle.tar.gz");
    copyFileSync(await defaultBundle(), bundlePath);
    const config = parseConfig(
      {
        listen: { postgres: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}` },
        data_dir: dataDir,
        identity: {
          issuers: [{ issuer: issuer.issuer, audience: "custos", groups_claim: "groups" }],
          agent_groups: ["agents"],
        },
        connections: [
          {
            name: "ledger",
            type: "postgres",
            target: {
              host: db.host,
              port: db.port,
              database: db.database,
              user: db.roles.scram.user,
              password_env: "PW",
            },
            allow_groups: ["agents"],
          },
        ],
      },
      dataDir,
      { PW: db.roles.scram.password },
    );
    const logger = createLogger("debug", {}, (line) => void logs.push(line));
    gw = await startGateway(config, { logger, policyBundle: bundlePath, watchPolicy: true });
  });

  afterAll(async () => {
    await gw?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const url = () => ({
    url: (t: string) =>
      `postgres://agent:${encodeURIComponent(t)}@127.0.0.1:${gw.postgresPort}/ledger?sslmode=disable`,
  });

  test("replacing the file (rename) and rebuilding it in place with opa both reload the policy", async () => {
    const token = await issuer.mint({
      iss: issuer.issuer,
      sub: "agent-7",
      aud: "custos",
      groups: ["agents"],
    });
    expect(await agentSelect(url(), token)).toBe("1");

    // Deploy tools and `opa build -o` replace the file: write beside it, then rename over it.
    const staged = join(dir, "staged.tar.gz");
    copyFileSync(lockdown, staged);
    renameSync(staged, bundlePath);
    await eventually(async () =>
      (await agentSelect(url(), token)).includes("test.lockdown") ? true : undefined,
    );

    // Rebuild the default pack onto the watched path with the real opa.
    buildBundle(DEFAULT_POLICY_DIR, bundlePath);
    await eventually(async () => ((await agentSelect(url(), token)) === "1" ? true : undefined), 10_000);
    expect(logs.some((l) => l.includes("policy bundle loaded"))).toBe(true);
  });
});

describe("no bundle", () => {
  test("every statement is refused with custos.no_policy and /healthz answers 503", async () => {
    const gw = await startTestGateway({ pg: db, issuer, policyBundle: null });
    try {
      const human = await gw.token("alice", ["dba"]);
      const r = await psql(gw.url(human), ["-v", "VERBOSITY=verbose", "-tAc", "SELECT 1"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        "ERROR:  42501: permission denied by policy: no policy bundle is loaded (rule custos.no_policy)",
      );
      const health = await fetch(`http://127.0.0.1:${gw.httpPort}/healthz`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ status: "unavailable", problems: ["no policy bundle loaded"] });
      expect(
        gw.logs.some((l) => l.includes("no policy bundle configured; every statement will be denied")),
      ).toBe(true);
    } finally {
      await gw.stop();
    }
  });

  test("a bundle that cannot be loaded at start leaves the gateway refusing everything", async () => {
    const broken = join(dir, "broken.tar.gz");
    writeFileSync(broken, "garbage");
    const gw = await startTestGateway({ pg: db, issuer, policyBundle: broken });
    try {
      const r = await psql(gw.url(await gw.token("alice", ["dba"])), ["-tAc", "SELECT 1"]);
      expect(r.stderr).toContain("(rule custos.no_policy)");
      expect((await fetch(`http://127.0.0.1:${gw.httpPort}/healthz`)).status).toBe(503);
      expect(gw.logs.some((l) => l.includes("policy bundle refused"))).toBe(true);
    } finally {
      await gw.stop();
    }
  });
});
