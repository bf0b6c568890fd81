// The MySQL classifier's rule table: lexing parity refusals, statement splitting, and the statement shape
// the default pack reads (kind, tables, columns by use, functions, settings).
import { describe, expect, test } from "bun:test";
import { createMysqlClassifier } from "./mysql-classifier.ts";

const c = createMysqlClassifier();
const one = (sql: string) => {
  const r = c.classify(sql);
  if (r.error) throw new Error(r.error);
  expect(r.statements.length).toBe(1);
  return r.statements[0]!;
};
const refused = (sql: string) => c.classify(sql).error;

describe("lexing parity", () => {
  test.each([
    "/*!50000 drop table t */ select 1",
    "select 1 /*M!100000 , sleep(1) */",
    "select 1 --1",
    "select _latin1'a'",
    "select 'unterminated",
    "select `unterminated",
    "select 1 /* unterminated",
  ])("refuses %s", (sql) => {
    expect(refused(sql)).toBeString();
  });
  test("a backslash-escaped quote stays inside the string", () => {
    const r = c.classify("select 'a\\'; drop table t; -- '");
    expect(r.error).toBeUndefined();
    expect(r.statements.map((s) => s.kind)).toEqual(["select"]);
  });
  test("doubled quotes and comments do not split", () => {
    expect(c.classify("select 'it''s;' # ; drop\n, `a;b` from t -- ;\n").statements.length).toBe(1);
  });
  test("statements split at top-level semicolons", () => {
    expect(c.classify("select 1; update t set a = 1 where id = 2").statements.map((s) => s.kind)).toEqual([
      "select",
      "update",
    ]);
  });
});

describe("settings", () => {
  test.each([
    ["set names latin1", "names"],
    ["set character set gbk", "names"],
    ["set sql_mode = 'ANSI_QUOTES'", "sql_mode"],
    ["set session sql_mode = 'STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES'", "sql_mode"],
    ["set @@global.sql_mode = concat(@@sql_mode, ',ANSI')", "sql_mode"],
    ["set character_set_client = sjis", "character_set_client"],
    ["set character_set_results = utf16", "character_set_results"],
    ["use mysql", "database"],
    ["set session_track_system_variables = ''", "session_track_system_variables"],
    ["set @@session.session_track_schema = off", "session_track_schema"],
  ])("%s is a parity refusal", (sql, setting) => {
    expect(c.classify(sql).parity?.setting).toBe(setting);
  });
  test.each([
    ["set names utf8mb4", "names"],
    ["set sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'", "sql_mode"],
    ["set autocommit = 1", "autocommit"],
    ["set @x = 1", "user_variable"],
    ["set session transaction isolation level read committed", "transaction_isolation"],
  ])("%s is a SET of %s", (sql, setting) => {
    const s = one(sql);
    expect(s.kind).toBe("set");
    expect(s.setting).toBe(setting);
  });
  test("a global setting is an alteration", () => {
    expect(one("set global max_connections = 10").kind).toBe("alter");
  });
});

describe("statement shape", () => {
  test("output, expression and filter columns", () => {
    const s = one(
      "select c.ssn, upper(c.name) as n from customers c join loans l on l.cid = c.id where c.x > 1 order by 2",
    );
    expect(s.tables_read).toEqual(["customers", "loans"]);
    expect(s.columns).toContain("c.ssn");
    expect(s.expression_columns).toEqual(["c.name"]);
    expect(s.filter_columns).toEqual(expect.arrayContaining(["l.cid", "c.id", "c.x", "c.name"]));
    expect(s.functions).toEqual(["upper"]);
    expect(s.renamed_columns).toEqual([{ name: "n", from: "c.name" }]);
  });
  test("subqueries, derived tables and set operations make their outputs expressions", () => {
    expect(one("select (select ssn from c limit 1)").expression_columns).toEqual(["ssn"]);
    expect(one("select * from (select ssn from c) x").expression_columns).toEqual(["ssn"]);
    expect(one("select a from t union select ssn from c").expression_columns).toEqual(["a", "ssn"]);
  });
  test("writes", () => {
    const u = one("update t set a = b + 1 where id = 3");
    expect([u.kind, u.tables_written, u.dml, u.has_where]).toEqual(["update", ["t"], ["update"], true]);
    expect(one("delete from t where 1 = 1").has_where).toBe(false);
    expect(one("insert into t (a) select ssn from c").dml).toEqual(["insert"]);
    expect(one("replace into t values (1)").tables_written).toEqual(["t"]);
    // MariaDB's RETURNING is output, like a SELECT's items.
    const d = one("delete from customers where id = 2 returning id, ssn, upper(email) as e");
    expect(d.columns).toEqual(expect.arrayContaining(["id", "ssn", "email"]));
    expect(d.expression_columns).toContain("email");
    expect(d.renamed_columns).toEqual([{ name: "e", from: "email" }]);
    expect(one("insert into t (a) values (1) returning *").columns).toContain("*");
    expect(one("load data local infile '/etc/passwd' into table t").copy_file).toBe(true);
  });
  test("server files, user variables, locks, dynamic SQL", () => {
    expect(one("select 1 into outfile '/tmp/x'").copy_file).toBe(true);
    expect(one("select ssn into @a from c").setting).toBe("user_variable");
    expect(one("select @a := ssn from c").setting).toBe("user_variable");
    expect(one("select a from t for update").locks).toEqual(["update"]);
    expect(one("prepare s from 'delete from t'").is_dynamic).toBe(true);
    expect(one("kill query 3").node).toBe("MysqlKill");
  });
  test("SHOW forms", () => {
    expect(one("show tables").node).toBe("MysqlShow");
    expect(one("show full columns from t").node).toBe("MysqlShow");
    expect(one("show processlist").node).toBe("MysqlShowOther");
    expect(one("show engine innodb status").node).toBe("MysqlShowOther");
  });
  test("shapes: literals out, aliases and positions in", () => {
    expect(c.classify("select a from t where id = 1").shape).toBe(
      c.classify("select a from t where id = 2").shape,
    );
    expect(c.classify("select ssn 'a' from t order by a").shape).not.toBe(
      c.classify("select ssn 'b' from t order by a").shape,
    );
    expect(c.classify("select ssn from t order by 1").shape).not.toBe(
      c.classify("select ssn from t order by 2").shape,
    );
    expect(c.classify("set names 'utf8mb4'").shape).not.toBe(c.classify("set names 'latin1'").shape);
  });
  test("a repeated text is one classification object (the decider's hot path)", () => {
    expect(c.classify("select 1 from t")).toBe(c.classify("select 1 from t"));
  });
  test("what the grammar does not know is refused", () => {
    // node-sql-parser 5.4 parses NATURAL JOIN in neither its MariaDB nor its MySQL grammar, and JSON's
    // -> / ->> only in its MySQL grammar; MariaDB 10.11 itself rejects -> / ->> (ER_PARSE_ERROR).
    expect(refused("select * from c natural join d")).toBeString();
    expect(refused("select * from c natural left join d")).toBeString();
    expect(refused("select j->'$.ssn' from c")).toBeString();
    expect(refused("select j->>'$.ssn' from c")).toBeString();
    expect(refused("frobnicate the table")).toBeString();
  });
});
