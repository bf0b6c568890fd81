// Identity mapping, attacked: identity.agent_groups decides the kind of every identity (OIDC and gateway
// tokens), `custos token issue` refuses a contradicting --kind and leaves a token.issued event before it
// prints anything, OIDC tokens need a subject and a bounded lifetime. Judged on the real PostgreSQL
// behind a real gateway: what an identity could do, not what the gateway says it is.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import postgres from "postgres";
import { decodeEvent } from "../../src/audit/codec.ts";
import { openStore } from "../../src/audit/store.ts";
import { cliLogId } from "../../src/cli/store-access.ts";
import { createAuthenticator } from "../../src/identity/authenticator.ts";
import { loadOrCreateGatewayKey } from "../../src/identity/gateway-key.ts";
import { issueGatewayToken } from "../../src/identity/gateway-tokens.ts";
import { instanceId } from "../../src/instance-id.ts";
import { PROJECT_ROOT } from "../../src/policy/opa.ts";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

let pg: PgServer;
let idp: OidcIssuer;
let gw: TestGateway;

beforeAll(async () => {
  [pg, idp] = await Promise.all([startPostgres(), startOidcIssuer()]);
  pg.sql(
    "CREATE TABLE canary (id int primary key, v text); INSERT INTO canary VALUES (1, 'a'), (2, 'b')",
    "ledger",
  );
  gw = await startTestGateway({ pg, issuer: idp });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([pg?.stop(), idp?.stop()]);
});

const canaryCount = () => Number(pg.sql("SELECT count(*) FROM canary", "ledger").trim().split("\n").at(-1));

/** Tries a write and a DDL as the token's identity; returns what happened on the real server. */
async function tryWrites(token: string): Promise<{ errors: string[]; rows: number; table: boolean }> {
  const sql = postgres(gw.url(token), { max: 1, onnotice: () => {} });
  const errors: string[] = [];
  for (const text of ["DELETE FROM canary WHERE id = 1", "CREATE TABLE escaped (x int)"]) {
    await sql.unsafe(text).catch((e: Error & { code?: string }) => errors.push(`${e.code}: ${e.message}`));
  }
  await sql.end();
  const table = pg.sql("SELECT to_regclass('public.escaped') IS NOT NULL", "ledger").includes("t");
  return { errors, rows: canaryCount(), table };
}

function configFile(dir: string, extra = ""): string {
  const path = join(dir, "custos.yaml");
  writeFileSync(
    path,
    `data_dir: ${join(dir, "data")}
identity:
  agent_groups: [agents]
connections:
  - name: ledger
    type: postgres
    target: { host: 127.0.0.1, port: 5432, database: ledger, user: u }
    allow_groups: [agents]
${extra}`,
  );
  return path;
}

function tokenIssue(args: string[]) {
  const proc = Bun.spawnSync(
    [process.execPath, join(PROJECT_ROOT, "src/cli/main.ts"), "token", "issue", ...args],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

describe("agent_groups decides the kind of every identity", () => {
  test("a gateway token claiming service (or human) for an agent-group member is an agent at the gateway", async () => {
    const key = await loadOrCreateGatewayKey(gw.dataDir);
    for (const kind of ["service", "human"] as const) {
      const token = await issueGatewayToken(key, {
        subject: `etl-${kind}`,
        groups: ["agents"],
        kind,
        ttlMs: 60_000,
      });
      const before = canaryCount();
      const r = await tryWrites(token);
      expect(r.rows).toBe(before);
      expect(r.table).toBe(false);
      expect(r.errors.length).toBe(2);
      expect(r.errors.join("\n")).toContain("agents may");
    }
    // The look-alike: a service token outside the agent groups keeps its kind (and may write bounded rows).
    const service = await issueGatewayToken(key, {
      subject: "svc",
      groups: ["dba"],
      kind: "service",
      ttlMs: 60_000,
    });
    const sql = postgres(gw.url(service), { max: 1, onnotice: () => {} });
    await sql.unsafe("UPDATE canary SET v = 'c' WHERE id = 2");
    await sql.end();
    expect(pg.sql("SELECT v FROM canary WHERE id = 2", "ledger")).toContain("c");
  });

  test("the authenticator maps OIDC and gateway identities alike", async () => {
    const key = await loadOrCreateGatewayKey(mkdtempSync(join(tmpdir(), "custos-key-")));
    const a = createAuthenticator({
      issuers: [{ issuer: idp.issuer, audience: "custos", groupsClaim: "groups" }],
      agentGroups: ["agents"],
      gatewayKey: key,
    });
    const gwToken = await issueGatewayToken(key, {
      subject: "x",
      groups: ["agents"],
      kind: "human",
      ttlMs: 60_000,
    });
    const oidc = await idp.mint({ iss: idp.issuer, aud: "custos", sub: "bob", groups: ["agents"] });
    const human = await idp.mint({ iss: idp.issuer, aud: "custos", sub: "carol", groups: ["dba"] });
    const kinds = await Promise.all([gwToken, oidc, human].map(async (t) => a.authenticate(t)));
    expect(kinds.map((r) => (r.ok ? r.identity.kind : r.error.code))).toEqual(["agent", "agent", "human"]);
  });
});

describe("OIDC tokens need a subject and a bounded lifetime", () => {
  test("an empty or blank sub and an exp in the year 3000 are refused at the gateway; a 5-minute token works", async () => {
    const claims = { iss: idp.issuer, aud: "custos", groups: ["dba"] };
    const refusedTokens = [
      await idp.mint({ ...claims, sub: "" }),
      await idp.mint({ ...claims, sub: "   " }),
      await idp.mint({ ...claims, sub: "dave" }, { expiresIn: Math.floor(Date.UTC(3000, 0, 1) / 1000) }),
      await idp.mint({ ...claims, sub: "dave" }, { expiresIn: "25h" }),
    ];
    for (const token of refusedTokens) {
      const sql = postgres(gw.url(token), { max: 1, connect_timeout: 5 });
      const err = (await sql`select current_user`.catch((e) => e)) as Error & { code?: string };
      await sql.end();
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe("28P01");
    }
    const ok = postgres(gw.url(await idp.mint({ ...claims, sub: "dave" })), { max: 1 });
    const [row] = await ok`select 1 as one`;
    await ok.end();
    expect(row?.one).toBe(1);
  });

  test("identity.max_token_lifetime bounds it (a lowered limit refuses a 2-hour token)", async () => {
    const a = createAuthenticator({
      issuers: [{ issuer: idp.issuer, audience: "custos", groupsClaim: "groups" }],
      agentGroups: [],
      gatewayKey: null,
      maxTokenLifetimeMs: 3_600_000,
    });
    const claims = { iss: idp.issuer, aud: "custos", sub: "erin" };
    const long = await a.authenticate(await idp.mint(claims, { expiresIn: "2h" }));
    expect(long.ok).toBe(false);
    if (!long.ok) expect(String(long.error.detail?.reason)).toContain("max_token_lifetime");
    expect((await a.authenticate(await idp.mint(claims, { expiresIn: "30m" }))).ok).toBe(true);
  });
});

describe("custos token issue", () => {
  test("refuses a --kind that contradicts an agent group; prints nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "custos-cli-"));
    const config = configFile(dir);
    for (const kind of ["service", "human"]) {
      const r = tokenIssue([
        "--config",
        config,
        "--subject",
        "etl",
        "--groups",
        "reporting,agents",
        "--kind",
        kind,
      ]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("agents");
    }
  });

  test("an agent-group token without --kind is an agent, and its token.issued event is durable (never the token)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "custos-cli-"));
    const config = configFile(dir);
    const r = tokenIssue(["--config", config, "--subject", "etl-bot", "--groups", "agents", "--ttl", "15m"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    const claims = decodeJwt(token);
    expect(claims.kind).toBe("agent");

    const store = await openStore(`sqlite:${join(dir, "data", "audit.db")}`);
    try {
      const logId = cliLogId(instanceId(join(dir, "data")));
      expect((await store.logs()).map((l) => l.logId)).toContain(logId);
      const rows = await store.readEvents(logId, 0, 100);
      const issued = rows.filter((row) => row.type === "token.issued");
      expect(issued).toHaveLength(1);
      const body = Buffer.from(issued[0]!.body).toString("latin1");
      expect(body.includes(token)).toBe(false);
      expect(body.includes(token.split(".")[2]!)).toBe(false);
      const data = decodeEvent(issued[0]!.body).data as Record<string, unknown>;
      expect(data).toMatchObject({
        subject: "etl-bot",
        groups: ["agents"],
        kind: "agent",
        ttl_ms: 900_000,
        jti: claims.jti,
      });
      expect((data.minted_by as { user: string }).user.length).toBeGreaterThan(0);
      expect(await store.checkpoints(logId)).toHaveLength(1);
    } finally {
      await store.close();
    }
    // `audit verify` accepts the CLI's log (signed with the gateway key).
    const verify = Bun.spawnSync(
      [process.execPath, join(PROJECT_ROOT, "src/cli/main.ts"), "audit", "verify", "--config", config],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect(verify.stdout.toString()).toContain("ok");
    expect(verify.exitCode).toBe(0);
  });

  test("fails closed: when the audit store cannot be written, no token is printed", () => {
    const dir = mkdtempSync(join(tmpdir(), "custos-cli-"));
    // The store's directory is a read-only directory: the key and instance id exist, the event cannot land.
    mkdirSync(join(dir, "data"), { recursive: true });
    const readOnly = join(dir, "ro");
    mkdirSync(readOnly);
    const config = configFile(dir, `audit:\n  store: sqlite:${join(readOnly, "audit.db")}\n`);
    chmodSync(readOnly, 0o500);
    // root ignores directory permissions: point the store at a path under a regular file instead.
    const asRoot = process.getuid?.() === 0;
    const blocked = asRoot
      ? configFile(dir, `audit:\n  store: sqlite:${join(config, "audit.db")}\n`)
      : config;
    const r = tokenIssue(["--config", blocked, "--subject", "svc", "--groups", "etl"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("no token issued");
  });
});
