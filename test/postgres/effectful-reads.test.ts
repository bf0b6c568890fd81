// A SELECT is not a read when it calls a function with effects (ENFORCEMENT.md §8: nothing reaches the target
// that is not yet recorded): nextval/setval advance a sequence no rollback undoes, pg_advisory_lock takes a
// session lock, a user function may insert, dblink_exec commits on another connection. Such statements get
// `record: sync` and wait for their record before they are forwarded, in autocommit and inside a block.
// Judged by effect on the real PostgreSQL while the audit store hangs (a lock on its tables, as in
// durable-commit.test.ts): the sequence is untouched, no row, no advisory lock. Look-alikes that call only
// vetted built-ins (lower, count, now) still run at once with the store hung.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { lockAuditStore } from "../support/audit-lock.ts";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { bind, execute, login, parse, query, type RawClient, sync } from "../support/raw-client.ts";
import { until } from "../support/until.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let token: string;
let direct: postgres.Sql;
let auditDb: string;
let dblink = false;

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  db.sql(`CREATE DATABASE custos_audit OWNER ${db.roles.scram.user}`);
  auditDb = db.url(db.roles.scram, "custos_audit");
  db.sql("CREATE TABLE fx_rows (id int)", "ledger");
  for (const s of ["seq_next", "seq_set", "seq_ext", "seq_tx", "seq_ok"])
    db.sql(`CREATE SEQUENCE ${s}`, "ledger");
  db.sql(
    "CREATE FUNCTION add_row(n int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$ BEGIN INSERT INTO fx_rows VALUES (n); RETURN n; END $$",
    "ledger",
  );
  dblink =
    db.sql("SELECT count(*) FROM pg_available_extensions WHERE name = 'dblink'", "ledger").trim() === "1";
  if (dblink) db.sql("CREATE EXTENSION IF NOT EXISTS dblink", "ledger");
  gw = await startTestGateway({ pg: db, issuer, storeUrl: auditDb });
  token = await gw.token("dba@bank.example", ["dba"]);
  direct = postgres(db.url(db.roles.scram, "ledger"), { max: 1, onnotice: () => {} });
}, 60_000);

afterAll(async () => {
  await direct?.end({ timeout: 1 });
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

/** A sequence's state read directly: false until nextval/setval first ran on it. */
async function sequenceCalled(name: string): Promise<boolean> {
  const [r] = await direct.unsafe(`select is_called from ${name}`);
  return r!.is_called as boolean;
}

async function rows(id: number): Promise<number> {
  const [r] = await direct`select count(*)::int as n from fx_rows where id = ${id}`;
  return r!.n as number;
}

async function advisoryLocks(): Promise<number> {
  const [r] = await direct`select count(*)::int as n from pg_locks where locktype = 'advisory'`;
  return r!.n as number;
}

type Attack = [
  string,
  (c: RawClient) => void,
  () => Promise<boolean>,
  { inBlock?: boolean; dblink?: boolean }?,
];

const attacks: Attack[] = [
  [
    "simple: SELECT nextval",
    (c) => c.send(query("SELECT nextval('seq_next')")),
    () => sequenceCalled("seq_next"),
  ],
  [
    "simple: SELECT setval",
    (c) => c.send(query("select setval('seq_set', 42)")),
    () => sequenceCalled("seq_set"),
  ],
  [
    "extended: SELECT nextval",
    (c) => c.send(parse("", "SELECT nextval('seq_ext')"), bind(""), execute(), sync()),
    () => sequenceCalled("seq_ext"),
  ],
  [
    "inside a transaction block: SELECT nextval (a rollback would not undo it)",
    (c) => c.send(query("SELECT nextval('seq_tx')")),
    () => sequenceCalled("seq_tx"),
    { inBlock: true },
  ],
  [
    "simple: SELECT pg_advisory_lock",
    (c) => c.send(query("SELECT pg_advisory_lock(1)")),
    async () => (await advisoryLocks()) > 0,
  ],
  [
    "inside a transaction block: SELECT pg_advisory_lock (session-level, outlives the block)",
    (c) => c.send(query("SELECT pg_advisory_lock(2)")),
    async () => (await advisoryLocks()) > 0,
    { inBlock: true },
  ],
  [
    "simple: a user-defined volatile function that inserts a row",
    (c) => c.send(query("SELECT add_row(7)")),
    async () => (await rows(7)) > 0,
  ],
  [
    "extended: the user function in a WHERE clause",
    (c) => c.send(parse("", "SELECT 1 WHERE add_row(8) > 0"), bind(""), execute(), sync()),
    async () => (await rows(8)) > 0,
  ],
  [
    "simple: SELECT dblink_exec inserting over another connection",
    (c) =>
      c.send(
        query(`SELECT dblink_exec('${db.url(db.roles.scram, "ledger")}', 'insert into fx_rows values (9)')`),
      ),
    async () => (await rows(9)) > 0,
    { dblink: true },
  ],
];

describe("a SELECT calling a function with effects waits for its record", () => {
  for (const [name, send, touched, opts] of attacks) {
    test(`${name}: with the store hung it has no effect on the target`, async () => {
      if (opts?.dblink && !dblink) {
        console.warn("dblink is not available on this PostgreSQL: case skipped");
        return;
      }
      const { client } = await login(gw.port, token);
      if (opts?.inBlock) {
        const r = await client.simpleQuery("BEGIN");
        expect(r.filter((m) => m.type === "E")).toEqual([]);
      }
      const lock = await lockAuditStore(auditDb);
      const seen = client.messages.length;
      try {
        send(client);
        await client.until(
          () => client.closed || client.messages.slice(seen).some((m) => m.type === "Z"),
          20_000,
          "the refusal",
        );
        expect(await touched()).toBe(false);
        expect(client.messages.slice(seen).some((m) => m.type === "D")).toBe(false);
        expect(client.errors().find((e) => (e.M ?? "").includes("audit"))).toBeDefined();
      } finally {
        await lock.unlock();
        client.close();
      }
      await until(async () => gw.gw.recorder.writable(), "the recorder to recover");
      expect(await touched()).toBe(false);
      expect(await advisoryLocks()).toBe(0);
    }, 40_000);
  }
});

describe("look-alikes", () => {
  test("reads of vetted built-ins run at once with the store hung", async () => {
    const { client } = await login(gw.port, token);
    const lock = await lockAuditStore(auditDb);
    try {
      for (const text of ["SELECT lower('X')", "SELECT count(*) FROM fx_rows", "SELECT now()"]) {
        const r = await client.simpleQuery(text);
        expect(r.filter((m) => m.type === "E")).toEqual([]);
        expect(r.some((m) => m.type === "D")).toBe(true);
      }
    } finally {
      await lock.unlock();
      client.close();
    }
    await until(async () => gw.gw.recorder.writable(), "the recorder to recover");
  }, 40_000);

  test("with the store healthy the effectful SELECTs run (they are held, not refused)", async () => {
    const { client } = await login(gw.port, token);
    try {
      const r = await client.simpleQuery("SELECT nextval('seq_ok'), add_row(11)");
      expect(r.filter((m) => m.type === "E")).toEqual([]);
      expect(await sequenceCalled("seq_ok")).toBe(true);
      expect(await rows(11)).toBe(1);
    } finally {
      client.close();
    }
  }, 40_000);
});
