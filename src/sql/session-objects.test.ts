import { beforeAll, describe, expect, test } from "bun:test";
import { loadSqlParser } from "./classifier.ts";
import { objectStatements } from "./session-objects.ts";

beforeAll(() => loadSqlParser());

describe("objectStatements", () => {
  test("texts without an object keyword are not parsed", () => {
    expect(objectStatements("select id, full_name from customers")).toBeNull();
    // A keyword in a column name parses, and finds nothing to track.
    expect(objectStatements("select moved, closed_at from t")).toBeNull();
  });

  test("names are the server's: folded unless quoted", () => {
    const ops = objectStatements(`PREPARE Foo(int) AS SELECT 1; EXECUTE foo(1); EXECUTE "Foo"`)!.map(
      (s) => s.op,
    );
    expect(ops).toEqual([
      { op: "prepare", name: "foo" },
      { op: "execute", name: "foo", args: "SELECT 1", nested: false },
      { op: "execute", name: "Foo", args: "SELECT", nested: false },
    ]);
  });

  test("EXECUTE arguments become a query of their own, comments and quoted parentheses included", () => {
    const [s] = objectStatements(`EXECUTE /* ( */ "a(b" ( 1, ')', (select ssn from c) )`)!;
    expect(s!.op).toEqual({
      op: "execute",
      name: "a(b",
      args: "SELECT  1, ')', (select ssn from c)",
      nested: false,
    });
  });

  test("EXPLAIN ANALYZE EXECUTE and CREATE TABLE AS EXECUTE run the prepared statement", () => {
    expect(objectStatements("explain (analyze) execute x(1+2)")![0]!.op).toEqual({
      op: "execute",
      name: "x",
      args: "SELECT 1+2",
      nested: true,
    });
    expect(objectStatements("create table t as execute y(3) with no data")![0]!.op).toMatchObject({
      op: "execute",
      name: "y",
      nested: true,
    });
  });

  test("cursors, deallocation and DISCARD", () => {
    const ops = objectStatements(
      "DECLARE c CURSOR WITH HOLD FOR select 1; declare d no scroll cursor without hold for select 2; fetch 10 from c; move next in c; close c; close all; deallocate all; deallocate prepare x; discard all; discard plans",
    )!.map((s) => s.op);
    expect(ops).toEqual([
      { op: "declare", name: "c", hold: true },
      { op: "declare", name: "d", hold: false },
      { op: "fetch", name: "c", move: false },
      { op: "fetch", name: "c", move: true },
      { op: "close", name: "c" },
      { op: "close", name: null },
      { op: "deallocate", name: null },
      { op: "deallocate", name: "x" },
      { op: "discard_all" },
      null,
    ]);
  });

  test("text that does not parse has no statements (the decision refuses it)", () => {
    expect(objectStatements("prepare x as selec 1")).toBeNull();
  });
});
