// The statement resolver against a real PostgreSQL: a decided shape answers synchronously, nothing it
// plans executes, and a catalog change (a view redefined) is noticed by the refresh after the TTL, which
// drops the cached decisions (onChange).
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { StatementResolver } from "../../src/protocols/postgres/statement-resolver.ts";
import { loadSqlParser } from "../../src/sql/classifier.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

let db: PgServer;
let sql: postgres.Sql;

beforeAll(async () => {
  await loadSqlParser();
  db = await startPostgres();
  db.sql(
    `create table people (id int, name text, ssn text);
     insert into people values (1, 'a', '536-22-8417');
     create view pv as select id, ssn as code from people;
     create sequence q;
     grant select on all tables in schema public to ${db.roles.scram.user};
     grant usage, update on sequence q to ${db.roles.scram.user};`,
    "ledger",
  );
  sql = postgres(db.url(db.roles.scram, "ledger"), { max: 1, onnotice: () => {} });
}, 60_000);

afterAll(async () => {
  await sql?.end({ timeout: 1 });
  await db?.stop();
});

const uses = (r: Awaited<ReturnType<StatementResolver["resolve"]>>) =>
  r.statements[0]!.uses.map((u) => `${u.column}:${u.use}`).sort();

test("a known shape is synchronous; a redefined view is seen after the TTL and reported", async () => {
  let clock = 0;
  let changes = 0;
  const r = new StatementResolver({
    sql,
    labels: { labelsOf: () => [] },
    ttlMs: 1000,
    now: () => clock,
    onChange: () => changes++,
  });
  const first = await r.resolve("select id from pv where code like 'x%'");
  expect(uses(first)).toContain("public.people.ssn:filter");
  expect(r.resolve("select id from pv where code like 'y%'")).not.toBeInstanceOf(Promise);
  db.sql("create or replace view pv as select id, name as code from people", "ledger");
  clock = 5000; // past the TTL: the stale answer is served once while it is refreshed
  expect(r.resolve("select id from pv where code like 'z%'")).toBe(first);
  for (let i = 0; i < 100 && changes === 0; i++) await Bun.sleep(20);
  expect(changes).toBe(1);
  const fresh = r.resolve("select id from pv where code like 'w%'");
  expect(fresh).not.toBeInstanceOf(Promise);
  expect(uses(await fresh)).toContain("public.people.name:filter");
  expect(uses(await fresh)).not.toContain("public.people.ssn:filter");
});

test("planning executes nothing: volatile calls and writes stay unrun", async () => {
  const r = new StatementResolver({ sql, labels: { labelsOf: () => [] } });
  const res = await r.resolve("select nextval('q'), setval('q', 99), pg_advisory_lock(5) from people");
  expect(res.statements[0]!.status).toBe("resolved");
  expect(res.statements[0]!.functions.map((f) => f.volatility)).toEqual(["volatile", "volatile", "volatile"]);
  const [seq] = await sql`select last_value::int as v, is_called from q`;
  expect(seq).toMatchObject({ v: 1, is_called: false });
  const [locks] = await sql`select count(*)::int as n from pg_locks where locktype = 'advisory'`;
  expect(locks!.n).toBe(0);
  const [prepared] =
    await sql`select count(*)::int as n from pg_prepared_statements where name like 'custos_resolve%'`;
  expect(prepared!.n).toBe(0);
  // A text this gateway would split differently from the server still holds one statement per Parse.
  const bad = await r.resolve("select 1 from people where name = 'a'; select pg_advisory_lock(6)");
  expect(bad.statements).toHaveLength(2);
  const [after] = await sql`select count(*)::int as n from pg_locks where locktype = 'advisory'`;
  expect(after!.n).toBe(0);
});

test("what the catalog cannot plan is unresolved, with the server's reason", async () => {
  const r = new StatementResolver({ sql, labels: { labelsOf: () => [] } });
  const res = await r.resolve("select nosuch from people");
  expect(res.statements[0]).toMatchObject({ status: "unresolved" });
  expect(res.statements[0]!.reason).toContain("nosuch");
});

test("a literal in a variadic argument is planned with its own type", async () => {
  const r = new StatementResolver({ sql, labels: { labelsOf: () => [] } });
  const res = await r.resolve(
    "select json_build_object('k', name, 'n', 1), concat('a', name) from people where id = 1",
  );
  expect(res.statements[0]).toMatchObject({ status: "resolved" });
  const recursive = await r.resolve(
    "with recursive t(n, s) as (select 1, ssn from people union all select n + 1, s from t where n < 3) select n from t",
  );
  expect(recursive.statements[0]).toMatchObject({ status: "resolved" });
  const bad = await r.resolve("select json_build_object('k', ssn) from people");
  expect(uses(bad)).toContain("public.people.ssn:computed");
});
