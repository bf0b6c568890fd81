// The invariant of durable writes (ENFORCEMENT.md §8): no write commits on the target, and no reply to it
// reaches the client, before its audit record is durable. A statement the decider proves commits only with
// its transaction (src/sql/transactional.ts) runs while its record is being synced, its replies held, and
// only the COMMIT waits (the Sync of the extended protocol, the gateway's own COMMIT around a
// simple-protocol autocommit write); everything else waits before it is forwarded. The proof is by effect: the audit store (PostgreSQL) is made to hang by a lock on its table, the write is seen to have
// executed on the target (its row lock is held), and a direct connection sees nothing committed, both while
// the store hangs and after the gateway gave up on it. Harmless look-alikes: the same writes with the store
// healthy commit, and reads are not held.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { lockAuditStore } from "../support/audit-lock.ts";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { bind, execute, fields, login, parse, query, type RawClient, sync } from "../support/raw-client.ts";
import { until } from "../support/until.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let token: string;
let direct: postgres.Sql;
let auditDb: string;

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  db.sql(`CREATE DATABASE custos_audit OWNER ${db.roles.scram.user}`);
  auditDb = db.url(db.roles.scram, "custos_audit");
  db.sql("CREATE TABLE canary (id int primary key, note text)", "ledger");
  db.sql(`GRANT ALL ON canary TO ${db.roles.scram.user}`, "ledger");
  db.sql("CREATE SEQUENCE canary_seq", "ledger");
  // A constraint checked at COMMIT: the gateway's own COMMIT is where the client's write fails.
  db.sql(
    "CREATE TABLE deferred_canary (id int, CONSTRAINT one_each UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)",
    "ledger",
  );
  db.sql(`GRANT ALL ON deferred_canary TO ${db.roles.scram.user}`, "ledger");
  db.sql(`GRANT ALL ON canary_seq TO ${db.roles.scram.user}`, "ledger");
  db.sql(`GRANT CREATE ON SCHEMA public TO ${db.roles.scram.user}`, "ledger");
  gw = await startTestGateway({ pg: db, issuer, storeUrl: auditDb });
  token = await gw.token("dba@bank.example", ["dba"]);
  direct = postgres(db.url(db.roles.scram, "ledger"), { max: 1, onnotice: () => {} });
}, 60_000);

afterAll(async () => {
  await direct?.end({ timeout: 1 });
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

/** Rows of `canary` a direct connection sees committed, with these ids. */
async function committed(ids: number[]): Promise<number> {
  const [r] = await direct`select count(*)::int as n from canary where id = any(${ids})`;
  return r!.n as number;
}

/** Row locks on `canary` held by other sessions: the write has executed and its transaction is open. */
async function executedUncommitted(): Promise<boolean> {
  const [r] = await direct`select count(*)::int as n from pg_locks l join pg_class c on c.oid = l.relation
    where c.relname = 'canary' and l.mode = 'RowExclusiveLock' and l.granted and l.pid <> pg_backend_pid()`;
  return (r!.n as number) > 0;
}

const insert = (id: number) => `insert into canary values (${id}, 'written through the gateway')`;

/** The ways a client sends autocommit writes. */
const senders: [string, number[], (c: RawClient, ids: number[]) => void][] = [
  [
    "extended protocol: Parse/Bind/Execute/Sync",
    [11],
    (c, ids) => {
      c.send(parse("", insert(ids[0]!)), bind(""), execute(), sync());
    },
  ],
  ["simple protocol: an autocommit Query", [21], (c, ids) => c.send(query(insert(ids[0]!)))],
  [
    "a pipeline of three Executes and one Sync",
    [31, 32, 33],
    (c, ids) => {
      for (const id of ids) c.send(parse("", insert(id)), bind(""), execute());
      c.send(sync());
    },
  ],
  [
    "a pipeline of three Parse/Bind/Execute/Sync",
    [41, 42, 43],
    (c, ids) => {
      for (const id of ids) c.send(parse("", insert(id)), bind(""), execute(), sync());
    },
  ],
];

describe("a write commits only once its audit record is durable", () => {
  for (const [name, ids, send] of senders) {
    test(`${name}: the store hangs, then fails: the write ran and never commits`, async () => {
      const { client } = await login(gw.port, token);
      const lock = await lockAuditStore(auditDb);
      try {
        send(client, ids);
        // The statement ran on the target while its record could not be committed...
        await until(executedUncommitted, "the write to execute");
        // ...and nothing of it is committed.
        expect(await committed(ids)).toBe(0);
        // The recorder gives up on the hung commit (commit stall): the session ends, the server rolls back.
        await client.waitClosed(15_000);
        const fatal = client.errors().find((e) => e.C === "08006" || e.S === "FATAL");
        expect(fatal?.M ?? "").toContain("audit store unavailable");
        expect(client.messages.some((m) => m.type === "C" && m.body.toString().startsWith("INSERT"))).toBe(
          false,
        );
        expect(await committed(ids)).toBe(0);
      } finally {
        await lock.unlock();
      }
      await until(async () => gw.gw.recorder.writable(), "the recorder to recover");
      await until(async () => !(await executedUncommitted()), "the transaction to end");
      expect(await committed(ids)).toBe(0);
    }, 30_000);

    test(`${name}: the store is slow: nothing commits until it catches up`, async () => {
      const okIds = ids.map((i) => i + 100);
      const { client } = await login(gw.port, token);
      const lock = await lockAuditStore(auditDb);
      let unlocked = false;
      try {
        const seen = client.messages.length;
        send(client, okIds);
        await until(executedUncommitted, "the write to execute");
        expect(await committed(okIds)).toBe(0);
        // The client has not been told anything about its write yet.
        expect(client.messages.slice(seen).map((m) => m.type)).toEqual([]);
        await lock.unlock();
        unlocked = true;
        const syncs = name.includes("three Parse/Bind/Execute/Sync") ? 3 : 1;
        await client.until(
          () => client.closed || client.messages.slice(seen).filter((m) => m.type === "Z").length >= syncs,
          15_000,
          "the replies",
        );
        const replies = client.messages.slice(seen);
        if (client.errors().some((e) => (e.M ?? "").includes("audit store unavailable"))) {
          // The store recovered too late (the recorder's stall bound passed first): nothing committed.
          expect(await committed(okIds)).toBe(0);
        } else {
          expect(replies.filter((m) => m.type === "E")).toEqual([]);
          await until(async () => (await committed(okIds)) === okIds.length, "the write to commit");
          // The client's final status is idle, as after an autocommit statement.
          const last = client.messages.filter((m) => m.type === "Z").at(-1);
          expect(String.fromCharCode(last!.body[0]!)).toBe("I");
        }
      } finally {
        if (!unlocked) await lock.unlock();
        client.close();
      }
    }, 30_000);
  }

  test("with the store healthy, autocommit writes commit and each reply ends in status I", async () => {
    const { client } = await login(gw.port, token);
    try {
      const simple = await client.simpleQuery(insert(501));
      expect(simple.filter((m) => m.type === "E")).toEqual([]);
      expect(simple.filter((m) => m.type === "C").map((m) => m.body.toString().replace(/\0$/, ""))).toEqual([
        "INSERT 0 1",
      ]);
      expect(simple.filter((m) => m.type === "Z").map((m) => String.fromCharCode(m.body[0]!))).toEqual(["I"]);
      // A failing autocommit write: the error, then status I (the gateway's COMMIT closes the failed block).
      const dup = await client.simpleQuery(insert(501));
      expect(dup.find((m) => m.type === "E")).toBeDefined();
      expect(dup.filter((m) => m.type === "Z").map((m) => String.fromCharCode(m.body[0]!))).toEqual(["I"]);
      // An explicit transaction afterwards is the client's own: status T inside it.
      const begun = await client.simpleQuery("begin");
      expect(begun.filter((m) => m.type === "Z").map((m) => String.fromCharCode(m.body[0]!))).toEqual(["T"]);
      await client.simpleQuery(insert(502));
      expect(await committed([502])).toBe(0);
      await client.simpleQuery("commit");
      expect(await committed([501, 502])).toBe(2);
      // Extended protocol, two Syncs in one pipeline.
      client.send(parse("", insert(503)), bind(""), execute(), sync());
      client.send(parse("", insert(504)), bind(""), execute(), sync());
      await client.untilReady();
      await client.untilReady();
      expect(await committed([503, 504])).toBe(2);
    } finally {
      client.close();
    }
  }, 30_000);

  test("a read is not held while the store hangs", async () => {
    const { client } = await login(gw.port, token);
    const lock = await lockAuditStore(auditDb);
    try {
      const r = await client.simpleQuery("select count(*) from canary where id < 0");
      expect(r.filter((m) => m.type === "E")).toEqual([]);
      expect(r.some((m) => m.type === "D")).toBe(true);
    } finally {
      await lock.unlock();
      client.close();
    }
    await until(async () => gw.gw.recorder.writable(), "the recorder to recover");
  }, 30_000);
});

/** The sequence's state read directly: untouched means no nextval/setval ran. */
async function sequenceTouched(): Promise<boolean> {
  const [r] = await direct`select is_called from canary_seq`;
  return r!.is_called as boolean;
}

/** Statements with effects a rollback does not undo, or that PostgreSQL will not run in a block. */
const heldStatements: [string, (c: RawClient) => void, () => Promise<boolean>][] = [
  [
    "simple: INSERT calling nextval",
    (c) => c.send(query("insert into canary values (nextval('canary_seq'), 'seq')")),
    sequenceTouched,
  ],
  [
    "extended: INSERT calling nextval",
    (c) =>
      c.send(
        parse("", "insert into canary values (nextval('canary_seq'), 'seq')"),
        bind(""),
        execute(),
        sync(),
      ),
    sequenceTouched,
  ],
  [
    "extended: UPDATE calling setval",
    (c) =>
      c.send(
        parse("", "update canary set note = setval('canary_seq', 7)::text"),
        bind(""),
        execute(),
        sync(),
      ),
    sequenceTouched,
  ],
  [
    "simple: CREATE TABLE (DDL)",
    (c) => c.send(query("create table held_ddl (id int)")),
    async () => {
      const [r] = await direct`select count(*)::int as n from pg_class where relname = 'held_ddl'`;
      return (r!.n as number) > 0;
    },
  ],
];

describe("statements that cannot run ahead of their record keep the hold", () => {
  for (const [name, send, touched] of heldStatements) {
    test(`${name}: with the store hung nothing runs on the target`, async () => {
      const { client } = await login(gw.port, token);
      const lock = await lockAuditStore(auditDb);
      const seen = client.messages.length;
      try {
        send(client);
        // The recorder gives up on the hung commit: the statement is refused (or the session ends)…
        await client.until(
          () => client.closed || client.messages.slice(seen).some((m) => m.type === "Z"),
          15_000,
          "the refusal",
        );
        // …and it never reached the server: no sequence advance, no table, no row lock.
        expect(await touched()).toBe(false);
        expect(await executedUncommitted()).toBe(false);
        const refusal = client.errors().find((e) => (e.M ?? "").includes("audit"));
        expect(refusal).toBeDefined();
      } finally {
        await lock.unlock();
        client.close();
      }
      await until(async () => gw.gw.recorder.writable(), "the recorder to recover");
      expect(await touched()).toBe(false);
      expect(await executedUncommitted()).toBe(false);
    }, 30_000);
  }

  test("look-alike: the same INSERT without the call runs ahead of its record (row lock seen)", async () => {
    const { client } = await login(gw.port, token);
    const lock = await lockAuditStore(auditDb);
    try {
      client.send(query(insert(901)));
      await until(executedUncommitted, "the write to execute");
      expect(await committed([901])).toBe(0);
      expect(await sequenceTouched()).toBe(false);
    } finally {
      await lock.unlock();
      await client.until(
        () => client.closed || client.messages.filter((m) => m.type === "Z").length > 1,
        15_000,
        "reply",
      );
      client.close();
    }
    await until(async () => gw.gw.recorder.writable(), "the recorder to recover");
  }, 30_000);
});

describe("pipelines of writes wait for one group commit per Sync", () => {
  test("50 Executes and one Sync: every row commits, with a handful of audit commits, not one per write", async () => {
    const { client } = await login(gw.port, token);
    const ids = Array.from({ length: 50 }, (_, i) => 2000 + i);
    try {
      const before = gw.gw.recorder.stats().commits;
      for (const id of ids) client.send(parse("", insert(id)), bind(""), execute());
      client.send(sync());
      const out = await client.untilReady();
      const after = gw.gw.recorder.stats().commits;
      expect(out.filter((m) => m.type === "C")).toHaveLength(50);
      expect(out.filter((m) => m.type === "E")).toEqual([]);
      expect(await committed(ids)).toBe(50);
      // Before this path each write waited for two commits of its own (100 or more for the pipeline).
      expect(after - before).toBeLessThan(10);
    } finally {
      client.close();
    }
  }, 30_000);

  test("postgres.js pipelining (one Sync per query, many in flight): all commit, each reply after its record", async () => {
    const sql = postgres(gw.url(token), { max: 1, onnotice: () => {} });
    const ids = Array.from({ length: 40 }, (_, i) => 3000 + i);
    try {
      const results = await Promise.all(
        ids.map((id) => sql`insert into canary values (${id}, 'pipelined') returning id`),
      );
      expect(results.map((r) => r[0]!.id)).toEqual(ids);
      expect(await committed(ids)).toBe(40);
      // A failing write in the middle of a pipeline fails alone; the others commit.
      const mixed = await Promise.allSettled([
        sql`insert into canary values (${3100}, 'a')`,
        sql`insert into canary values (${3000}, 'duplicate')`,
        sql`insert into canary values (${3101}, 'b')`,
      ]);
      expect(mixed.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect(await committed([3100, 3101])).toBe(2);
      const [dup] = await direct`select note from canary where id = 3000`;
      expect(dup!.note).toBe("pipelined");
    } finally {
      await sql.end({ timeout: 1 });
    }
  }, 30_000);

  test("a pipeline whose store hangs: nothing of it commits, later Syncs included", async () => {
    const { client } = await login(gw.port, token);
    const ids = [4001, 4002, 4003, 4004];
    const lock = await lockAuditStore(auditDb);
    try {
      for (const id of ids) client.send(parse("", insert(id)), bind(""), execute(), sync());
      await until(executedUncommitted, "the first write to execute");
      await client.waitClosed(15_000);
      expect(client.errors().some((e) => (e.M ?? "").includes("audit store unavailable"))).toBe(true);
      expect(client.messages.some((m) => m.type === "C" && m.body.toString().startsWith("INSERT"))).toBe(
        false,
      );
    } finally {
      await lock.unlock();
    }
    await until(async () => gw.gw.recorder.writable(), "the recorder to recover");
    await until(async () => !(await executedUncommitted()), "the transaction to end");
    expect(await committed(ids)).toBe(0);
  }, 30_000);
});

describe("the gateway's COMMIT is the write's commit", () => {
  test("a deferred constraint failing at COMMIT reaches the client as the write's error; nothing commits", async () => {
    const { client } = await login(gw.port, token);
    try {
      const ok = await client.simpleQuery("insert into deferred_canary values (1)");
      expect(ok.filter((m) => m.type === "E")).toEqual([]);
      const dup = await client.simpleQuery("insert into deferred_canary select 2 union all select 2");
      const error = dup.find((m) => m.type === "E");
      expect(error).toBeDefined();
      expect(fields(error!.body).C).toBe("23505");
      expect(dup.filter((m) => m.type === "Z").map((m) => String.fromCharCode(m.body[0]!))).toEqual(["I"]);
      const [r] = await direct`select count(*)::int as n from deferred_canary`;
      expect(r!.n).toBe(1);
    } finally {
      client.close();
    }
  }, 30_000);
});
