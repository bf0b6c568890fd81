import { describe, expect, test } from "bun:test";
import { literalKey } from "./literal-key.ts";

describe("literalKey", () => {
  test("replaces plain numbers and strings, keeps names", () => {
    expect(literalKey("SELECT abalance FROM pgbench_accounts WHERE aid = 209811;")).toBe(
      "SELECT abalance FROM pgbench_accounts WHERE aid = ?;",
    );
    expect(literalKey(`select "t1"."a""b", x2 from t3 where s = 'it''s' and v > 1.5e-3`)).toBe(
      `select "t1"."a""b", x2 from t3 where s = ? and v > ?`,
    );
    expect(literalKey("select 1, 2.5, -7")).toBe("select ?, ?, -?");
  });

  test("statements that differ only in literals share a key; others do not", () => {
    expect(literalKey("select * from t where id = 1")).toBe(literalKey("select * from t where id = 99"));
    expect(literalKey("select * from t where id = 1")).not.toBe(literalKey("select * from u where id = 1"));
    expect(literalKey("select set_config('role', 'x', false)")).toBe(
      literalKey("select set_config('application_name', 'y', false)"),
    ); // same classification by construction: the walk never reads literal values
  });

  test("anything outside the subset it fully lexes takes the parser's path", () => {
    for (const text of [
      "select $1",
      "select $$x$$",
      "select E'\\\\x'",
      "select U&'d\\0061t'",
      "select B'101'",
      "select X'1F'",
      "select 1 -- comment",
      "select /* c */ 1",
      "select 1abc",
      "select 0x1F",
      "select 1_000",
      "select .5",
      "select 'unterminated",
      'select "unterminated',
      "select 1e",
      "COPY t TO PROGRAM 'curl x'",
      "SET search_path = 'x'",
      "NOTIFY ch, 'payload'",
    ]) {
      expect(literalKey(text)).toBeNull();
    }
  });
});
