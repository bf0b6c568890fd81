// The same drivers as an AGENT: what the shipped policy allows (reads, extended protocol, server cursors,
// COPY TO STDOUT) relays exactly as directly; what it refuses (writes, COPY FROM) comes back as SQLSTATE 42501
// in each driver's own error type, and PostgreSQL, read directly, shows nothing happened.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pg from "pg";
import postgres from "postgres";
import { type Matrix, startMatrix, type Target } from "./support.ts";

let m: Matrix;
let agent: Target;
beforeAll(async () => {
  m = await startMatrix();
  agent = await m.gateway(["agents"]);
}, 120_000);
afterAll(async () => {
  await m?.stop();
});

const pgConfig = (t: Target) => ({
  host: t.host,
  port: t.port,
  user: t.user,
  password: t.password,
  database: t.database,
});
const countDirect = () =>
  m.db.sql("select count(*), md5(string_agg(name, ',' order by id)) from drv_items", "ledger").trim();

describe("node-postgres as an agent", () => {
  test("reads (simple, prepared, cursor-style FETCH) return what PostgreSQL returns directly", async () => {
    const query = async (t: Target) => {
      const c = new pg.Client(pgConfig(t));
      await c.connect();
      try {
        const simple = await c.query("select count(*)::int as n from drv_items");
        const named = await c.query({
          name: "a",
          text: "select id, amount::text from drv_items where id = $1",
          values: [9],
        });
        await c.query("begin");
        await c.query("declare cur cursor for select id from drv_items order by id");
        const fetched = await c.query("fetch 5 from cur");
        await c.query("commit");
        return [simple.rows, named.rows, fetched.rows];
      } finally {
        await c.end();
      }
    };
    const direct = await query(m.direct());
    expect(direct[0]).toEqual([{ n: 500 }]);
    expect(await query(agent)).toEqual(direct);
  });

  test("writes are refused with 42501 (simple and extended), and nothing changes", async () => {
    const before = countDirect();
    const c = new pg.Client(pgConfig(agent));
    await c.connect();
    try {
      const codes = [];
      for (const run of [
        () => c.query("update drv_items set name = 'agent' where id = 1"),
        () => c.query("insert into drv_items (id, name) values ($1, $2)", [9001, "agent"]),
        () => c.query("delete from drv_items where id = $1", [2]),
        () => c.query("with d as (delete from drv_items where id = 3 returning 1) select count(*) from d"),
      ]) {
        codes.push(
          await run().then(
            () => "allowed",
            (err) => err.code,
          ),
        );
      }
      expect(codes).toEqual(["42501", "42501", "42501", "42501"]);
      // A harmless look-alike stays allowed: the session is intact and reads still work.
      const r = await c.query("select name from drv_items where name like 'update%' or id = 1");
      expect(r.rows).toEqual([{ name: "item 1 é€" }]);
    } finally {
      await c.end();
    }
    expect(countDirect()).toBe(before);
  });
});

describe("postgres.js as an agent", () => {
  test("COPY TO STDOUT relays the same bytes; COPY FROM STDIN is refused and nothing lands", async () => {
    const copyOut = async (t: Target) => {
      const sql = postgres({
        host: t.host,
        port: t.port,
        user: t.user,
        pass: t.password,
        database: t.database,
        max: 1,
      });
      try {
        const chunks: Buffer[] = [];
        for await (const chunk of await sql`copy (select id, name from drv_items order by id) to stdout`.readable()) {
          chunks.push(chunk as Buffer);
        }
        return Buffer.concat(chunks);
      } finally {
        await sql.end();
      }
    };
    const direct = await copyOut(m.direct());
    expect(direct.length).toBeGreaterThan(5000);
    expect((await copyOut(agent)).equals(direct)).toBe(true);

    const before = countDirect();
    const sql = postgres({
      host: agent.host,
      port: agent.port,
      user: agent.user,
      pass: agent.password,
      database: agent.database,
      max: 1,
    });
    try {
      const refused = await sql`copy drv_items (id, name) from stdin`.writable().then(
        () => "allowed",
        (err) => err.code,
      );
      expect(refused).toBe("42501");
    } finally {
      await sql.end();
    }
    expect(countDirect()).toBe(before);
  });
});
