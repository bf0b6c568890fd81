// deploy/postgres/audit-store-roles.sql against a real PostgreSQL: the owner migrates through the real
// CLI (deploy/postgres/migrate.example.yaml); the gateway's role, which may create nothing, starts a real
// gateway, records a whole session and runs the approvals repository, and can neither rewrite nor remove
// evidence; the auditor role verifies the log with `custos audit verify` and can write nothing; against a
// store nobody migrated yet the gateway's role fails closed, saying who migrates and how.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { appendFileSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { openApprovalRepository } from "../../src/approvals/repository.ts";
import { Recorder } from "../../src/audit/recorder.ts";
import { openStore } from "../../src/audit/store.ts";
import { CustosError } from "../../src/core/errors.ts";
import { loadOrCreateGatewayKey } from "../../src/identity/gateway-key.ts";
import { freePort } from "../support/free-port.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { DEPLOY, ROOT, scratch } from "./support.ts";

const ROLES_SQL = readFileSync(join(DEPLOY, "postgres/audit-store-roles.sql"), "utf8");
const PASSWORDS = {
  custos_audit_owner: "owner-pw-1f9c",
  custos_gateway: "gateway-pw-7d2e",
  custos_auditor: "auditor-pw-44b0",
};
type Role = keyof typeof PASSWORDS;

let pg: PgServer;
const url = (role: Role, database = "custos_audit") =>
  `postgres://${role}:${PASSWORDS[role]}@127.0.0.1:${pg.port}/${database}`;

function cli(args: string[], env: Record<string, string>) {
  const proc = Bun.spawnSync([process.execPath, join(ROOT, "src/cli/main.ts"), ...args], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: proc.exitCode, out: proc.stdout.toString(), err: proc.stderr.toString() };
}

async function refused(role: Role, statement: string): Promise<string> {
  const sql = postgres(url(role), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(statement);
    return "allowed";
  } catch (err) {
    return String((err as Error).message);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

beforeAll(async () => {
  pg = await startPostgres();
  // The helper's pg_hba admits only its own roles over TCP; these three log in with passwords.
  appendFileSync(
    join(pg.dataDir, "db", "pg_hba.conf"),
    "host custos_audit,custos_audit_new all 127.0.0.1/32 scram-sha-256\n",
  );
  pg.sql("SELECT pg_reload_conf()");
  // custos_audit is migrated by the owner in the first test; custos_audit_new is never migrated.
  for (const db of ["custos_audit", "custos_audit_new"]) {
    pg.sql(`CREATE DATABASE ${db}`);
    pg.sql(ROLES_SQL, db);
  }
  // What earlier versions of the file granted: running it again takes it back.
  pg.sql("GRANT CREATE ON DATABASE custos_audit TO custos_gateway, custos_auditor");
  pg.sql("GRANT CREATE ON SCHEMA drizzle TO custos_gateway, custos_auditor", "custos_audit");
  pg.sql(ROLES_SQL, "custos_audit");
  for (const [role, pw] of Object.entries(PASSWORDS)) pg.sql(`ALTER ROLE ${role} PASSWORD '${pw}'`);
}, 60_000);

afterAll(async () => {
  await pg?.stop();
});

test("the owner migrates with the documented command; the file re-runs cleanly and grants the new tables", () => {
  const run = cli(["migrate", "--config", join(DEPLOY, "postgres/migrate.example.yaml")], {
    CUSTOS_AUDIT_OWNER_URL: url("custos_audit_owner"),
  });
  expect(run.err).toBe("");
  expect(run.code).toBe(0);
  expect(run.out).toContain("schema up to date");
  const owners = pg.sql(
    "SELECT tablename || ':' || tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    "custos_audit",
  );
  expect(owners.trim().split("\n")).toEqual(
    [
      "approval_decisions",
      "approval_requests",
      "audit_events",
      "audit_logs",
      "checkpoints",
      "recordings",
      "sessions",
      "siem_cursors",
    ].map((t) => `${t}:custos_audit_owner`),
  );
  pg.sql(ROLES_SQL, "custos_audit");
  const grants = pg.sql(
    "SELECT DISTINCT privilege_type FROM information_schema.role_table_grants WHERE grantee = 'custos_gateway' AND table_name = 'audit_events' ORDER BY 1",
    "custos_audit",
  );
  expect(grants.trim().split("\n")).toEqual(["INSERT", "SELECT"]);
  // Only the owner may create: the runtime roles hold no CREATE on the database or any schema.
  const creates = pg.sql(
    `SELECT r || ':' || has_database_privilege(r, current_database(), 'CREATE') || has_schema_privilege(r, 'public', 'CREATE') || has_schema_privilege(r, 'drizzle', 'CREATE')
       FROM unnest(ARRAY['custos_audit_owner', 'custos_gateway', 'custos_auditor']) AS r`,
    "custos_audit",
  );
  expect(creates.trim().split("\n")).toEqual([
    "custos_audit_owner:truetruetrue",
    "custos_gateway:falsefalsefalse",
    "custos_auditor:falsefalsefalse",
  ]);
}, 30_000);

test("the gateway's role starts a real gateway on the migrated store, which appends its start", async () => {
  const data = scratch("custos-audit-serve-");
  const [httpPort, pgPort] = [await freePort(), await freePort()];
  data.write(
    "custos.yaml",
    [
      `listen: {postgres: "127.0.0.1:${pgPort}", http: "127.0.0.1:${httpPort}"}`,
      `data_dir: ${JSON.stringify(join(data.dir, "data"))}`,
      "audit: {store_env: CUSTOS_AUDIT_URL}",
      "policy: {watch: false}",
      // serve refuses a config that guards nothing; this target is never dialled.
      "connections: [{name: x, type: postgres, target: {host: 127.0.0.1, database: x, user: x}, allow_groups: [a]}]",
      "",
    ].join("\n"),
  );
  const proc = Bun.spawn(
    [process.execPath, join(ROOT, "src/cli/main.ts"), "serve", "--config", join(data.dir, "custos.yaml")],
    {
      env: { ...process.env, CUSTOS_AUDIT_URL: url("custos_gateway") },
      stdout: "ignore",
      stderr: "pipe",
    },
  );
  try {
    let status = 0;
    const deadline = Date.now() + 20_000;
    while (status !== 200 && proc.exitCode === null && Date.now() < deadline) {
      await Bun.sleep(100);
      status = await fetch(`http://127.0.0.1:${httpPort}/healthz`)
        .then((r) => r.status)
        .catch(() => 0);
    }
    expect(proc.exitCode).toBeNull();
    expect(status).toBe(200); // the audit store is writable as custos_gateway
    // gateway.start is a buffered append: committed within the recorder's flush interval, not before /healthz.
    const startEvents = () =>
      Number(pg.sql("SELECT count(*) FROM audit_events WHERE type = 'gateway.start'", "custos_audit").trim());
    for (const until = Date.now() + 5_000; startEvents() < 1 && Date.now() < until; ) await Bun.sleep(50);
    expect(startEvents()).toBeGreaterThanOrEqual(1);
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(data.dir, { recursive: true, force: true });
  }
  // Opening it created nothing: the owner's migrations are the only rows, its tables the only tables.
  expect(
    pg
      .sql(
        "SELECT count(*) FROM pg_tables WHERE tableowner <> 'custos_audit_owner' AND schemaname IN ('public', 'drizzle')",
        "custos_audit",
      )
      .trim(),
  ).toBe("0");
}, 30_000);

test("against a store nobody migrated, the gateway's role fails closed and says who migrates and how", async () => {
  const fresh = url("custos_gateway", "custos_audit_new");
  const err = await openStore(fresh).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CustosError);
  expect((err as CustosError).code).toBe("audit.unavailable");
  const message = (err as CustosError).message;
  expect(message).toContain(
    "the audit store needs migrating by its owner: 4 migration(s) pending (0000_audit_init, 0001_approvals, 0002_retention, 0003_siem_cursors)",
  );
  expect(message).toContain("role custos_gateway may not create objects");
  expect(message).toContain("custos migrate --config deploy/postgres/migrate.example.yaml");
  expect(message).not.toContain(PASSWORDS.custos_gateway);

  // The gateway does not start: `custos serve` exits non-zero with that message.
  const data = scratch("custos-audit-fresh-");
  try {
    data.write(
      "custos.yaml",
      `listen: {postgres: "127.0.0.1:${await freePort()}", http: "127.0.0.1:${await freePort()}"}\ndata_dir: ${JSON.stringify(join(data.dir, "data"))}\naudit: {store_env: CUSTOS_AUDIT_URL}\nconnections: [{name: x, type: postgres, target: {host: 127.0.0.1, database: x, user: x}, allow_groups: [a]}]\n`,
    );
    const serve = cli(["serve", "--config", join(data.dir, "custos.yaml")], { CUSTOS_AUDIT_URL: fresh });
    expect(serve.code).not.toBe(0);
    expect(serve.err).toContain("needs migrating by its owner");
    expect(serve.err).not.toContain(PASSWORDS.custos_gateway);
  } finally {
    rmSync(data.dir, { recursive: true, force: true });
  }
  // Nothing was created on the way.
  expect(
    pg
      .sql("SELECT count(*) FROM pg_tables WHERE schemaname IN ('public', 'drizzle')", "custos_audit_new")
      .trim(),
  ).toBe("0");

  // Once the owner has migrated it, the same role opens it.
  const owner = await openStore(url("custos_audit_owner", "custos_audit_new"));
  await owner.close();
  pg.sql(ROLES_SQL, "custos_audit_new");
  const store = await openStore(fresh);
  try {
    expect(await store.logs()).toEqual([]);
  } finally {
    await store.close();
  }
}, 30_000);

test("the gateway's role records a session, checkpoints it and runs approvals", async () => {
  const data = scratch("custos-audit-role-");
  try {
    const key = await loadOrCreateGatewayKey(data.dir);
    const rec = await Recorder.start({
      storeUrl: url("custos_gateway"),
      logId: "gw-deploy-test",
      signer: { privateKeyPkcs8: key.pkcs8, publicKeyRaw: key.publicRaw },
    });
    const t = Date.now();
    const sid = "sess-deploy-1";
    rec.event({ type: "gateway.start", time: t, data: { version: "test" } });
    rec.event({
      type: "session.start",
      time: t,
      sessionId: sid,
      data: { subject: "agent-7", connection: "ledger" },
    });
    rec.event({
      type: "statement",
      time: t + 1,
      sessionId: sid,
      data: { text: "select 1", action: "allow" },
    });
    rec.event({
      type: "session.end",
      time: t + 2,
      sessionId: sid,
      data: { reason: "client", bytes_from_client: 10, bytes_to_client: 20 },
    });
    await rec.durable();
    expect(rec.writable()).toBe(true);
    await rec.close();
    const row = pg.sql(
      `SELECT statements || ':' || end_reason FROM sessions WHERE id = '${sid}'`,
      "custos_audit",
    );
    expect(row.trim()).toBe("1:client");

    const approvals = await openApprovalRepository(url("custos_gateway"));
    try {
      expect(await approvals.abandonPending("gw-deploy-test", Date.now())).toEqual([]);
    } finally {
      await approvals.close();
    }

    // The auditor verifies the log with the real CLI and the gateway's key.
    data.write("verify.yaml", `data_dir: ${JSON.stringify(data.dir)}\naudit:\n  store_env: AUDITOR_URL\n`);
    const verify = cli(["audit", "verify", "--config", join(data.dir, "verify.yaml")], {
      AUDITOR_URL: url("custos_auditor"),
    });
    expect(verify.err).toBe("");
    expect(verify.out).toContain("ok    gw-deploy-test:");
    expect(verify.code).toBe(0);
  } finally {
    rmSync(data.dir, { recursive: true, force: true });
  }
}, 30_000);

test("the gateway's role cannot rewrite, remove or re-own the evidence", async () => {
  const denied = /permission denied|must be owner/;
  for (const statement of [
    "UPDATE audit_events SET type = 'forged'",
    "UPDATE audit_events SET leaf_hash = '\\x00'",
    "UPDATE recordings SET sha256 = '\\x00'",
    "DELETE FROM audit_events",
    "TRUNCATE audit_events",
    "UPDATE checkpoints SET signature = '\\x00'",
    "DELETE FROM checkpoints",
    "DELETE FROM recordings",
    "UPDATE audit_logs SET public_key = '\\x00'",
    "UPDATE sessions SET subject = 'someone-else'",
    "DELETE FROM sessions",
    "DELETE FROM approval_requests",
    "DELETE FROM approval_decisions",
    "DROP TABLE audit_events",
    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
    "INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('x', 0)",
  ]) {
    expect(`${statement}: ${await refused("custos_gateway", statement)}`).toMatch(denied);
  }
});

test("the gateway's role may prune (empty bodies and payloads) and nothing more", async () => {
  expect(
    await refused("custos_gateway", "UPDATE audit_events SET body = '\\x', pruned_at = 1 WHERE false"),
  ).toBe("allowed");
  expect(
    await refused("custos_gateway", "UPDATE recordings SET data = '\\x', pruned_at = 1 WHERE false"),
  ).toBe("allowed");
});

test("the auditor's role reads and writes nothing", async () => {
  expect(await refused("custos_auditor", "SELECT count(*) FROM audit_events")).toBe("allowed");
  for (const statement of [
    "INSERT INTO audit_logs VALUES ('x', '\\x00', 0)",
    "UPDATE sessions SET end_reason = 'x'",
    "UPDATE approval_requests SET status = 'approved'",
    "DELETE FROM audit_events",
  ]) {
    expect(`${statement}: ${await refused("custos_auditor", statement)}`).toMatch(/permission denied/);
  }
});
