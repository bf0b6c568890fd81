// The agents' lists, attacked through the live gateway against a real PostgreSQL and judged by effect:
// row locks held (another session's NOWAIT lock), prepared transactions left behind (pg_prepared_xacts),
// statistics and other sessions' SQL read (fixture values in any byte received), notifications received,
// sequences and advisory locks changed. Humans keep every one of these. And unbounded writes by humans go
// to review where the connection has approvers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { api, pendingFor } from "../approvals/support.ts";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import * as wire from "../support/raw-client.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let agent: string;
let human: string;
let approver: string;

const SSNS = ["078-05-1120", "219-09-9999", "457-55-5462", "536-22-8726"];
const CANARY = "canary-7f3c1e-secret";

const one = (sql: string) => db.sql(sql, "ledger").trim().split("\n").at(-1)!.trim();

beforeAll(async () => {
  [db, issuer] = await Promise.all([
    startPostgres({ settings: { max_prepared_transactions: "4" } }),
    startOidcIssuer(),
  ]);
  db.sql(
    `CREATE TABLE customers (id int primary key, name text, ssn text);
     INSERT INTO customers SELECT g, 'n' || g, (ARRAY['${SSNS.join("','")}'])[1 + g % 4] FROM generate_series(1, 400) g;
     CREATE TABLE orders (id int primary key, amount int);
     INSERT INTO orders SELECT g, g FROM generate_series(1, 10) g;
     CREATE SEQUENCE invoice_no;
     ANALYZE customers;`,
    "ledger",
  );
  gw = await startTestGateway({
    pg: db,
    issuer,
    connection: { approvers: ["dba-leads"], review_timeout: "20s" },
  });
  agent = await gw.token("agent-7", ["agents"]);
  human = await gw.token("alice@bank.example", ["dba"]);
  approver = await gw.token("lead@bank.example", ["dba-leads"]);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

/** Waits for the held statement and approves it as `approverToken`; returns the request id. */
async function approve(
  gw: TestGateway,
  approverToken: string,
  text: string,
  reason: string,
): Promise<string> {
  const pending = await pendingFor(gw, approverToken, text);
  expect(pending.rule).toBe("custos.unbounded_write");
  const r = await api(gw, approverToken, "POST", `/approvals/${pending.id}/approve`, { reason });
  expect(r.status).toBe(200);
  return pending.id as string;
}

/** Runs statements in one raw session; returns every byte received, as text, and the errors' SQLSTATEs. */
async function raw(token: string, statements: string[]): Promise<{ bytes: string; codes: string[] }> {
  const { client } = await wire.login(gw.port, token);
  const codes: string[] = [];
  try {
    for (const text of statements) {
      const reply = await client.simpleQuery(text);
      for (const m of reply) if (m.type === "E") codes.push(wire.fields(m.body).C ?? "");
    }
    await Bun.sleep(100); // an asynchronous notification would have arrived by now
    return { bytes: Buffer.from(client.received).toString("latin1"), codes };
  } finally {
    client.close();
  }
}

/** True when another (direct) session can lock the order right now: nobody holds it. */
async function lockable(id: number): Promise<boolean> {
  const sql = postgres(db.url(), { max: 1 });
  try {
    await sql.begin((tx) => tx.unsafe(`SELECT 1 FROM orders WHERE id = ${id} FOR UPDATE NOWAIT`));
    return true;
  } catch {
    return false;
  } finally {
    await sql.end();
  }
}

describe("row locks", () => {
  const variants = [
    "SELECT * FROM orders WHERE id = 1 FOR UPDATE",
    "SELECT * FROM orders WHERE id = 1 FOR NO KEY UPDATE",
    "SELECT * FROM orders WHERE id = 1 FOR SHARE",
    "SELECT * FROM orders WHERE id = 1 FOR KEY SHARE NOWAIT",
    "SELECT * FROM (SELECT * FROM orders WHERE id = 1 FOR UPDATE) o",
    "WITH o AS (SELECT * FROM orders WHERE id = 1 FOR UPDATE SKIP LOCKED) SELECT * FROM o",
    "SELECT * FROM orders o WHERE id = 1 FOR UPDATE OF o",
  ];
  test("an agent's locking reads are refused and hold no lock; a human's do", async () => {
    for (const text of variants) {
      const sql = postgres(gw.url(agent), { max: 1 });
      try {
        await sql
          .begin(async (tx) => {
            const err = await tx.unsafe(text).catch((e) => e);
            expect(err, text).toBeInstanceOf(Error);
            expect(await lockable(1), text).toBe(true);
            throw new Error("rollback");
          })
          .catch(() => {});
      } finally {
        await sql.end();
      }
    }
    const sql = postgres(gw.url(human), { max: 1 });
    try {
      await sql.begin(async (tx) => {
        await tx.unsafe(variants[0]!);
        expect(await lockable(1)).toBe(false);
      });
    } finally {
      await sql.end();
    }
    // The look-alike: a plain read in a transaction is fine for the agent.
    const plain = postgres(gw.url(agent), { max: 1 });
    try {
      expect((await plain.begin((tx) => tx`SELECT amount FROM orders WHERE id = 1`))[0]?.amount).toBe(1);
    } finally {
      await plain.end();
    }
  });
});

describe("two-phase commit", () => {
  test("an agent's PREPARE TRANSACTION, COMMIT PREPARED and ROLLBACK PREPARED are refused; a human's run", async () => {
    const agentRun = await raw(agent, ["BEGIN", "PREPARE TRANSACTION 'agent_gid'", "ROLLBACK"]);
    expect(agentRun.codes).toContain("42501");
    expect(one("SELECT count(*) FROM pg_prepared_xacts")).toBe("0");

    const humanRun = await raw(human, ["BEGIN", "SELECT 1", "PREPARE TRANSACTION 'human_gid'"]);
    expect(humanRun.codes).toEqual([]);
    expect(one("SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'human_gid'")).toBe("1");
    for (const text of ["COMMIT PREPARED 'human_gid'", "ROLLBACK PREPARED 'human_gid'"]) {
      const r = await raw(agent, [text]);
      expect(r.codes, text).toEqual(["42501"]);
      expect(one("SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'human_gid'")).toBe("1");
    }
    expect((await raw(human, ["ROLLBACK PREPARED 'human_gid'"])).codes).toEqual([]);
    expect(one("SELECT count(*) FROM pg_prepared_xacts")).toBe("0");
  });
});

describe("statistics and activity views", () => {
  test("pg_stats histograms and other sessions' SQL never reach an agent; humans read them", async () => {
    // Another session is running a statement that carries a value.
    const other = postgres(db.url(), { max: 1 });
    const running = other.unsafe(`SELECT '${CANARY}', pg_sleep(3)`).catch(() => {});
    await Bun.sleep(300);
    try {
      const attempts = [
        "SELECT most_common_vals::text FROM pg_stats WHERE tablename = 'customers'",
        "SELECT * FROM pg_catalog.pg_stats",
        "SELECT histogram_bounds FROM pg_stats",
        "SELECT query FROM pg_stat_activity",
        "SELECT * FROM pg_catalog.pg_stat_activity WHERE pid <> pg_backend_pid()",
        "SELECT a.query FROM pg_stat_get_activity(NULL) a",
        "SELECT pg_stat_get_backend_activity(s) FROM pg_stat_get_backend_idset() s",
        "SELECT stavalues1::text FROM pg_statistic",
        "SELECT * FROM pg_stats_ext",
      ];
      for (const text of attempts) {
        const r = await raw(agent, [text]);
        expect(r.codes.length, text).toBe(1);
        expect(r.bytes, text).not.toContain(CANARY);
        for (const ssn of SSNS) expect(r.bytes, text).not.toContain(ssn);
      }
      // Humans: both views answer with the values (which is what the agent was kept from).
      const stats = await raw(human, [
        "SELECT most_common_vals::text FROM pg_stats WHERE tablename = 'customers'",
      ]);
      expect(SSNS.some((ssn) => stats.bytes.includes(ssn))).toBe(true);
      const activity = await raw(human, ["SELECT query FROM pg_stat_activity"]);
      expect(activity.bytes).toContain(CANARY);
      // The look-alike: statistics without values stay readable for agents.
      const counters = await raw(agent, ["SELECT relname, n_live_tup FROM pg_stat_user_tables"]);
      expect(counters.codes).toEqual([]);
      expect(counters.bytes).toContain("customers");
    } finally {
      await running;
      await other.end();
    }
  });
});

describe("LISTEN", () => {
  test("an agent may not LISTEN, so other sessions' payloads never reach it; a human receives them", async () => {
    const notify = async () => {
      const sql = postgres(db.url(), { max: 1 });
      await sql.unsafe(`NOTIFY jobs, '${CANARY}'`);
      await sql.end();
    };
    for (const token of [agent, human]) {
      const { client } = await wire.login(gw.port, token);
      try {
        const reply = await client.simpleQuery("LISTEN jobs");
        const refused = reply.some((m) => m.type === "E");
        expect(refused).toBe(token === agent);
        await notify();
        await Bun.sleep(300);
        const received = Buffer.from(client.received).toString("latin1");
        expect(received.includes(CANARY)).toBe(token === human);
        expect(client.messages.some((m) => m.type === "A")).toBe(token === human);
      } finally {
        client.close();
      }
    }
    // UNLISTEN stays harmless for agents.
    expect((await raw(agent, ["UNLISTEN *"])).codes).toEqual([]);
  });
});

describe("side-effect functions", () => {
  test("an agent cannot move a sequence, take an advisory lock, notify, sleep or reset statistics", async () => {
    const before = one("SELECT last_value || '/' || is_called FROM invoice_no");
    const attempts = [
      "SELECT nextval('invoice_no')",
      "SELECT setval('invoice_no', 1000)",
      "SELECT pg_advisory_lock(42)",
      "SELECT pg_try_advisory_lock(42)",
      "SELECT pg_advisory_xact_lock(42)",
      `SELECT pg_notify('jobs', '${CANARY}')`,
      "SELECT pg_sleep(5)",
      "SELECT txid_current()",
      "SELECT pg_stat_reset()",
    ];
    for (const text of attempts) {
      const started = Date.now();
      const r = await raw(agent, [text]);
      expect(r.codes, text).toEqual(["42501"]);
      expect(Date.now() - started, text).toBeLessThan(3000);
    }
    expect(one("SELECT last_value || '/' || is_called FROM invoice_no")).toBe(before);
    expect(one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).toBe("0");
    // Humans may; the look-alike currval-free reads stay fine for agents.
    expect((await raw(human, ["SELECT nextval('invoice_no')"])).codes).toEqual([]);
    expect(one("SELECT last_value || '/' || is_called FROM invoice_no")).not.toBe(before);
    expect((await raw(agent, ["SELECT now(), lower('X'), count(*) FROM orders"])).codes).toEqual([]);
    // An agent may not lift the bounds the gateway sets at start-up (limits.agent_statement_timeout and
    // limits.agent_idle_in_transaction_timeout): the classifier is literal-free, so no in-session SET of
    // either is allowed to agents; a lower value is asked for at start-up (test/postgres/startup-parity).
    expect((await raw(agent, ["SET idle_in_transaction_session_timeout = 0"])).codes).toEqual(["42501"]);
    expect((await raw(agent, ["SET statement_timeout = 0"])).codes).toEqual(["42501"]);
  });
});

describe("unbounded writes", () => {
  test("a human's DELETE without WHERE goes to review where the connection has approvers, and runs once approved", async () => {
    const sql = postgres(gw.url(human), { max: 1, onnotice: () => {} });
    try {
      const text = "DELETE FROM orders";
      const run = sql.unsafe(text).then(
        (r) => ({ ok: true as const, count: r.count }),
        (e: Error) => ({ ok: false as const, message: e.message }),
      );
      const id = await approve(gw, approver, text, "end of quarter clean-up");
      expect(id).toMatch(/.+/);
      expect(await run).toEqual({ ok: true, count: 10 });
      expect(one("SELECT count(*) FROM orders")).toBe("0");
    } finally {
      await sql.end();
    }
  });

  test("an agent's unbounded writes are refused outright; rows stay", async () => {
    db.sql("INSERT INTO orders SELECT g, g FROM generate_series(1, 5) g ON CONFLICT DO NOTHING", "ledger");
    for (const text of [
      "DELETE FROM orders",
      "UPDATE orders SET amount = 0",
      "DELETE FROM orders WHERE true",
    ]) {
      const r = await raw(agent, [text]);
      expect(r.codes, text).toEqual(["42501"]);
    }
    expect(one("SELECT count(*) FROM orders WHERE amount > 0")).toBe("5");
  });
});
