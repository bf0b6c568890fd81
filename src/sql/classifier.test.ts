import { beforeAll, describe, expect, test } from "bun:test";
import { createSqlClassifier, type SqlClassifier } from "./classifier.ts";
import type { SqlStatement } from "./types.ts";

let cached: SqlClassifier;
let plain: SqlClassifier;
beforeAll(async () => {
  cached = await createSqlClassifier();
  plain = await createSqlClassifier({ shapeCache: false });
});

const one = (text: string): SqlStatement => {
  const result = cached.classify(text);
  expect(result.error).toBeUndefined();
  expect(result.statements).toHaveLength(1);
  return result.statements[0]!;
};

describe("classifySql", () => {
  const table: [string, Partial<SqlStatement>][] = [
    [
      "SELECT id FROM accounts WHERE id = 1",
      { kind: "select", tables_read: ["public.accounts"], has_where: true },
    ],
    ['select * from "public"."Accounts"', { tables_read: ["public.Accounts"] }],
    ["select * from pg_class", { tables_read: ["pg_catalog.pg_class"] }],
    [
      "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
      { kind: "select", tables_read: [], tables_written: ["public.t"], dml: ["delete"], has_where: false },
    ],
    ["with a as (select * from b), b as (select 1) select * from a", { tables_read: ["public.b"] }],
    [
      "select * from accounts, (with accounts as (select 1) select * from accounts) s",
      { tables_read: ["public.accounts"] },
    ],
    [
      "select (select max(x) from s.t2) from t1 where y in (select y from t3)",
      { tables_read: ["s.t2", "public.t1", "public.t3"] },
    ],
    [
      "update t set a = lower(b) where id = 1 returning pg_read_file('x')",
      { kind: "update", functions: ["lower", "pg_read_file"], has_where: true, columns: ["a", "b", "id"] },
    ],
    ["SELECT pg_read_file('/etc/passwd')", { functions: ["pg_read_file"] }],
    ["select * from pg_catalog.pg_ls_dir('.')", { functions: ["pg_catalog.pg_ls_dir"] }],
    ["DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$", { kind: "do", is_dynamic: true }],
    [
      "create function f() returns int language plpgsql as $$begin execute 'x'; return 1; end$$",
      { kind: "create", is_dynamic: true },
    ],
    ["EXECUTE p(1)", { kind: "other", node: "ExecuteStmt", is_dynamic: true }],
    ["select query_to_xml('select * from secret', true, false, '')", { is_dynamic: true }],
    ["COPY t TO PROGRAM 'curl x'", { kind: "copy", copy_program: true, tables_read: ["public.t"] }],
    ["COPY t FROM '/etc/passwd'", { kind: "copy", copy_file: true, tables_written: ["public.t"] }],
    ["COPY t TO STDOUT", { kind: "copy", copy_file: false, copy_program: false }],
    ["SET ROLE admin", { kind: "set", setting: "role" }],
    ["SET LOCAL ROLE admin", { kind: "set", setting: "role" }],
    ["SET SESSION AUTHORIZATION admin", { kind: "set", setting: "session_authorization" }],
    ["SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", { kind: "transaction" }],
    ["BEGIN", { kind: "transaction", transaction: "begin" }],
    ["PREPARE TRANSACTION 'x'", { kind: "transaction", transaction: "prepare" }],
    ["COMMIT PREPARED 'x'", { kind: "transaction", transaction: "commit_prepared" }],
    ["ROLLBACK PREPARED 'x'", { kind: "transaction", transaction: "rollback_prepared" }],
    ["select * from t for update", { locks: ["update"], transaction: null }],
    ["select * from t for no key update of t skip locked", { locks: ["no key update"] }],
    ["select * from (select * from t for share) s", { locks: ["share"] }],
    ["with x as (select * from t for key share) select * from x", { locks: ["key share"] }],
    ["select * from t", { locks: [] }],
    ["DROP TABLE a, s.b", { kind: "drop", tables_written: ["public.a", "s.b"] }],
    ["TRUNCATE a", { kind: "truncate", tables_written: ["public.a"] }],
    ["ALTER TABLE accounts ADD COLUMN x int", { kind: "alter", tables_written: ["public.accounts"] }],
    ["GRANT SELECT ON t TO u", { kind: "grant" }],
    ["REVOKE pg_execute_server_program FROM u", { kind: "revoke" }],
    ["select * into n from o", { kind: "create", tables_written: ["public.n"], tables_read: ["public.o"] }],
    [
      "explain analyze delete from t",
      { kind: "delete", node: "ExplainStmt", dml: ["delete"], has_where: false },
    ],
    ["prepare p as delete from t where id = $1", { kind: "delete", node: "PrepareStmt", has_where: true }],
    ["delete from t where true", { has_where: false }],
    ["delete from t where id = $1", { has_where: true }],
    [
      "merge into t using s on t.id = s.id when matched then delete",
      { kind: "merge", tables_written: ["public.t"], tables_read: ["public.s"] },
    ],
    [
      "insert into t (a) select b from s on conflict do nothing",
      { kind: "insert", tables_written: ["public.t"], tables_read: ["public.s"], columns: ["a", "b"] },
    ],
    ["select 1 union select x from u", { tables_read: ["public.u"] }],
    ["call proc(pg_ls_dir('.'))", { kind: "call", functions: ["proc", "pg_ls_dir"] }],
    ["SHOW search_path", { kind: "other", node: "VariableShowStmt", setting: "search_path" }],
  ];
  for (const [sql, expected] of table) {
    test(sql, () => {
      expect(one(sql)).toMatchObject(expected);
    });
  }

  test("a multi-statement string yields one entry per statement", () => {
    const result = cached.classify("select 1; drop table x; SET ROLE y");
    expect(result.statements.map((s) => s.kind)).toEqual(["select", "drop", "set"]);
    expect(new Set(result.statements.map((s) => s.fingerprint)).size).toBe(3);
  });

  test("unparseable SQL is an error, not a classification", () => {
    const result = cached.classify("selec * from t");
    expect(result.error).toContain("syntax error");
    expect(result.statements).toEqual([]);
  });

  test("literals do not change the classification, the shape or the fingerprint", () => {
    const a = cached.classify("select * from t where id = 1 and name = 'x'");
    const b = cached.classify("select * from t where id = 2 and name = 'y'");
    expect(b).toBe(a); // second text reused the first's shape entry
    expect(a.statements[0]!.fingerprint).toBe(b.statements[0]!.fingerprint);
  });

  test("the shape cache gives what a fresh parse gives", () => {
    const texts = [
      ...table.map(([sql]) => sql),
      "COPY t TO PROGRAM 'other'",
      "SET ROLE other",
      "DO $$ BEGIN NULL; END $$",
      "select * from t where id = 99",
    ];
    for (const text of texts) expect(cached.classify(text)).toEqual(plain.classify(text));
  });
});
