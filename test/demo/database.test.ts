// The demo database end to end: real psql and postgres.js over TCP against PGlite with the bank fixture.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { CustosError } from "../../src/core/errors.ts";
import { createLogger } from "../../src/core/log.ts";
import { type DemoDatabase, startDemoDatabase } from "../../src/demo/database.ts";
import { FIXTURE_COUNTS, fixtureRows, fixtureSecrets } from "../../src/demo/fixture.ts";
import { freePort } from "../support/free-port.ts";
import { exchange, startup } from "../support/raw-client.ts";
import { demoUrl, psql } from "./clients.ts";

const snapshotDir = mkdtempSync(join(tmpdir(), "custos-demo-snap-"));
let db: DemoDatabase;

beforeAll(async () => {
  db = await startDemoDatabase({
    port: await freePort(),
    snapshotDir,
    idleInTransactionTimeoutMs: 1_500,
    maxConnections: 10,
    log: createLogger(process.env.DEMO_DEBUG ? "debug" : "warn"),
  });
  // A fresh PGlite start loads the bank fixture: seconds alone, much longer on a machine busy with other suites.
}, 120_000);

afterAll(async () => {
  await db?.stop();
  rmSync(snapshotDir, { recursive: true, force: true });
});

describe("demo database over the wire", () => {
  test("starts fresh, on loopback, with a generated password", () => {
    expect(db.startup.source).toBe("fresh");
    expect(db.host).toBe("127.0.0.1");
    expect(db.password.length).toBeGreaterThanOrEqual(32);
    expect(readdirSync(snapshotDir).filter((f) => f.endsWith(".tar.gz")).length).toBe(1);
  });

  test("psql sees the fixture counts (cleartext password auth, SSL declined under sslmode=prefer)", async () => {
    const tables = Object.keys(FIXTURE_COUNTS);
    const r = await psql(
      demoUrl(db),
      `select ${tables.map((t) => `(select count(*) from ${t})`).join(" || ',' || ")}`,
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toBe(Object.values(FIXTURE_COUNTS).join(","));
  });

  test("the loaded SSNs and PANs are exactly fixtureSecrets()", async () => {
    const r = await psql(demoUrl(db), "select ssn from customers union all select card_number from cards");
    expect(r.out.split("\n").sort()).toEqual([...fixtureSecrets()].sort());
  });

  test("postgres.js (extended protocol, named and unnamed statements) reads fixture values", async () => {
    for (const prepare of [true, false]) {
      const sql = postgres(demoUrl(db), { max: 1, prepare, connect_timeout: 5 });
      try {
        const [c] =
          await sql`select id, full_name, ssn, date_of_birth::text as dob from customers where id = ${1}`;
        const expected = fixtureRows().customers[0]!;
        expect(c).toEqual({
          id: 1,
          full_name: expected.fullName,
          ssn: expected.ssn,
          dob: expected.dateOfBirth,
        });
        const [s] = await sql`select tax_id, account_count from customer_summary where id = ${1}`;
        expect(s?.tax_id).toBe(expected.ssn);
        expect(s?.account_count).toBe(fixtureRows().accounts.filter((a) => a.customerId === 1).length);
      } finally {
        await sql.end();
      }
    }
  });

  test("wrong password, unknown role and unknown database are refused with PostgreSQL's errors", async () => {
    const bad = await psql(demoUrl(db, { password: "not-the-password" }), "select 1");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('password authentication failed for user "postgres"');
    const role = await psql(demoUrl(db, { user: "mallory" }), "select 1");
    expect(role.err).toContain('role "mallory" does not exist');
    const database = await psql(demoUrl(db, { database: "bank" }), "select 1");
    expect(database.err).toContain('database "bank" does not exist');
  });

  test("sslmode=require fails: the server answers SSLRequest and GSSENCRequest with 'N'", async () => {
    const r = await psql(`${demoUrl(db)}?sslmode=require`, "select 1");
    expect(r.code).toBe(2);
    expect(r.err).toContain("server does not support SSL");
    for (const code of [80877103, 80877104]) {
      const req = Buffer.alloc(8);
      req.writeInt32BE(8, 0);
      req.writeInt32BE(code, 4);
      const { reply } = await exchange(db.port, req, 300);
      expect(reply.toString("latin1")).toBe("N");
    }
  });

  test("a CancelRequest is swallowed: no reply, connection closed (one backend, nothing to cancel)", async () => {
    const cancel = Buffer.alloc(16);
    cancel.writeInt32BE(16, 0);
    cancel.writeInt32BE(80877102, 4);
    const { reply, closed } = await exchange(db.port, cancel);
    expect(reply.length).toBe(0);
    expect(closed).toBe(true);
  });

  test("malformed startups get a FATAL ErrorResponse and a closed socket", async () => {
    const tooShort = Buffer.from([0, 0, 0, 3, 0, 0, 0, 0]);
    const tooLong = Buffer.from([0, 1, 0, 0, 0, 3, 0, 0]);
    const cases: [Uint8Array, string][] = [
      [tooShort, "08P01"],
      [tooLong, "08P01"],
      [startup({ user: "postgres" }, 2), "0A000"],
      [startup({ database: "postgres" }), "28000"],
    ];
    for (const [bytes, sqlstate] of cases) {
      const { errors, closed } = await exchange(db.port, bytes);
      expect(errors[0]?.C).toBe(sqlstate);
      expect(closed).toBe(true);
    }
  });

  test("a password message of the wrong type, or an absurd message length, closes the connection", async () => {
    const notPassword = Buffer.concat([startup({ user: "postgres" }), Buffer.from("Q\0\0\0\x0dselect 1\0")]);
    const r1 = await exchange(db.port, notPassword);
    expect(r1.errors[0]?.C).toBe("08P01");
    expect(r1.closed).toBe(true);
    const huge = Buffer.concat([startup({ user: "postgres" }), Buffer.from([0x70, 0x7f, 0xff, 0xff, 0xff])]);
    const r2 = await exchange(db.port, huge);
    expect(r2.errors[0]?.C).toBe("08P01");
    expect(r2.closed).toBe(true);
  });

  test("two sequential connections, each with its own session", async () => {
    const first = await psql(demoUrl(db), "create temp table scratch(x int)", "select 1");
    expect(first.code).toBe(0);
    const second = await psql(demoUrl(db), "select count(*) from customers");
    expect(second.out).toBe("50");
    const sql = postgres(demoUrl(db), { max: 1, connect_timeout: 5 });
    expect((await sql`select 1 as one`)[0]?.one).toBe(1);
    await sql.end();
    const again = postgres(demoUrl(db), { max: 1, connect_timeout: 5 });
    expect((await again`select 2 as two`)[0]?.two).toBe(2);
    await again.end();
  });

  test("eight concurrent pipelined connections never receive each other's results", async () => {
    const a = postgres(demoUrl(db), { max: 4, connect_timeout: 5 });
    const b = postgres(demoUrl(db), { max: 4, prepare: false, connect_timeout: 5 });
    try {
      const jobs: Promise<boolean>[] = [];
      for (let i = 1; i <= 150; i++) {
        for (const [who, sql] of [
          ["a", a],
          ["b", b],
        ] as const) {
          jobs.push(
            sql`select ${i}::int as i, ${who}::text as who, count(*)::int as n from transactions where id <= ${i}`.then(
              ([r]) => r?.i === i && r?.who === who && r?.n === i,
            ),
          );
        }
      }
      const results = await Promise.all(jobs);
      expect(results.filter((ok) => !ok).length).toBe(0);
      expect(results.length).toBe(300);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  }, 20_000);

  test("an open transaction holds the backend; others wait, then see only committed data", async () => {
    const a = postgres(demoUrl(db), { max: 1, connect_timeout: 5 });
    const b = postgres(demoUrl(db), { max: 1, connect_timeout: 5 });
    try {
      await b`select 1`;
      const events: string[] = [];
      let readDuring: Promise<number> | undefined;
      await a.begin(async (tx) => {
        await tx`update accounts set balance = balance + 1 where id = 1`;
        readDuring = b`select balance::text as balance from accounts where id = 1`.then(([r]) => {
          events.push("b read");
          return Number(r?.balance);
        });
        await Bun.sleep(200);
        events.push("a commit");
      });
      const seen = await readDuring!;
      expect(events).toEqual(["a commit", "b read"]);
      expect(seen).toBe(Number(fixtureRows().accounts[0]!.balance) + 1);
      await a`update accounts set balance = balance - 1 where id = 1`;
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  test("a connection dropped mid-transaction is rolled back and its statements deallocated", async () => {
    const a = postgres(demoUrl(db), { max: 1, connect_timeout: 5 });
    await a`select ${1}::int as warm`; // leaves a named prepared statement in the shared backend
    const reserved = await a.reserve();
    await reserved`begin`;
    await reserved`insert into orders values (1234567890123456, 1, now(), 1, 1, 1, 'X', 1)`;
    await a.end({ timeout: 0 });
    const r = await psql(
      demoUrl(db),
      "select count(*) from orders where id = 1234567890123456",
      "select count(*) from pg_prepared_statements",
    );
    expect(r.out).toBe("0\n0");
  });

  test("an idle transaction that blocks another session is terminated with 25P03", async () => {
    const a = postgres(demoUrl(db), { max: 1, connect_timeout: 5 });
    const b = postgres(demoUrl(db), { max: 1, connect_timeout: 5 });
    try {
      await b`select 1`;
      const reserved = await a.reserve();
      await reserved`begin`;
      await reserved`delete from transactions where id = 1`;
      const started = performance.now();
      const [r] = await b`select count(*)::int as n from transactions`;
      const waited = performance.now() - started;
      expect(r?.n).toBe(FIXTURE_COUNTS.transactions);
      expect(waited).toBeGreaterThan(1_000);
      expect(waited).toBeLessThan(10_000);
      const after = await reserved`select 1`.then(
        () => "alive",
        (e: { code?: string }) => e.code,
      );
      // The FATAL arrives while postgres.js is idle, so it reports the closed connection on the next query.
      expect(["25P03", "CONNECTION_CLOSED"]).toContain(after as string);
    } finally {
      await Promise.all([a.end({ timeout: 0 }), b.end()]);
    }
  }, 20_000);

  test("past maxConnections a client gets FATAL 53300", async () => {
    const held = await Promise.all(
      Array.from(
        { length: 10 },
        () =>
          new Promise<ReturnType<typeof connect>>((ok) => {
            const s = connect(db.port, "127.0.0.1", () => ok(s));
          }),
      ),
    );
    try {
      await Bun.sleep(50);
      const { errors, closed } = await exchange(db.port, startup({ user: "postgres" }));
      expect(errors[0]?.C).toBe("53300");
      expect(closed).toBe(true);
    } finally {
      for (const s of held) s.destroy();
    }
    await Bun.sleep(100);
    expect((await psql(demoUrl(db), "select 1")).out).toBe("1");
  });

  test("a second instance restores the snapshot, serves trust auth, and bad options fail clearly", async () => {
    const trust = await startDemoDatabase({ snapshotDir, auth: "trust" });
    try {
      expect(trust.startup.source).toBe("snapshot");
      expect(trust.password).toBe("");
      const r = await psql(
        `postgres://postgres@127.0.0.1:${trust.port}/postgres`,
        "select count(*) from cards",
      );
      expect(r.out).toBe(String(FIXTURE_COUNTS.cards));
      const taken = await startDemoDatabase({ port: db.port, snapshotDir }).catch((e: unknown) => e);
      expect(taken).toBeInstanceOf(CustosError);
      expect(taken).toMatchObject({ code: "config.invalid" });
      expect((taken as Error).message).toContain("EADDRINUSE");
    } finally {
      await trust.stop();
    }
    const invalid: Parameters<typeof startDemoDatabase>[0][] = [
      { host: "0.0.0.0" },
      { host: "10.0.0.1" },
      { port: 70_000 },
      { port: 1.5 },
      { dataDir: "/tmp/x", snapshotDir },
      { password: "" },
      { maxConnections: 0 },
    ];
    for (const opts of invalid) {
      const err = await startDemoDatabase(opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CustosError);
      expect((err as CustosError).code).toBe("config.invalid");
    }
  }, 30_000);

  test("stop() closes clients and frees the port; a second stop() is harmless", async () => {
    const sql = postgres(demoUrl(db), { max: 1, connect_timeout: 2 });
    await sql`select 1`;
    await db.stop();
    await db.stop();
    const failed = await sql`select 1`.then(
      () => "ok",
      () => "failed",
    );
    expect(failed).toBe("failed");
    await sql.end({ timeout: 0 });
    const server = createServer();
    await new Promise<void>((ok, fail) => {
      server.once("error", fail);
      server.listen(db.port, "127.0.0.1", () => ok());
    });
    await new Promise<void>((ok) => server.close(() => ok()));
  });
});
