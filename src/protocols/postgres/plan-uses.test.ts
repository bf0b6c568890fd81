// Unit tables for reading plans: expressions as EXPLAIN VERBOSE prints them, literals turned into
// parameters, and column uses of captured PostgreSQL 15 plans.
import { beforeAll, describe, expect, test } from "bun:test";
import { loadSqlParser } from "../../sql/classifier.ts";
import { snakeName } from "./column-names.ts";
import { parameterize } from "./literal-params.ts";
import { parseExpression } from "./plan-expressions.ts";
import { type PlanNode, planUses } from "./plan-uses.ts";
import { statementQueries } from "./statement-query.ts";

beforeAll(() => loadSqlParser());

describe("parseExpression", () => {
  test.each([
    ["c.ssn", [{ qualifier: "c", name: "ssn" }], true],
    ["ssn", [{ name: "ssn" }], true],
    ["c.*", [{ qualifier: "c", name: "*" }], true],
    ["row_to_json(c.*)", [{ qualifier: "c", name: "*" }], false],
    ["upper((customers.ssn)::text)", [{ qualifier: "customers", name: "ssn" }], false],
    ["(c.ssn)::character varying(10)", [{ qualifier: "c", name: "ssn" }], false],
    ["((c.name)::text ~~ 'ssn %'::text)", [{ qualifier: "c", name: "name" }], false],
    ['"Weird"."Col ""x"""', [{ qualifier: "Weird", name: 'Col "x"' }], true],
    [
      "pg_catalog.lower(t.a) AND (t.b IS NOT NULL)",
      [
        { qualifier: "t", name: "a" },
        { qualifier: "t", name: "b" },
      ],
      false,
    ],
    ["(SubPlan 1)", [], false],
    ["$0", [], false],
    ["count(*)", [], false],
    [
      "CASE WHEN (x.flag) THEN x.v ELSE NULL::text END",
      [
        { qualifier: "x", name: "flag" },
        { qualifier: "x", name: "v" },
      ],
      false,
    ],
  ])("%s", (expr, refs, bare) => {
    const got = parseExpression(expr);
    expect(got.refs).toEqual(refs as never);
    expect(got.bare).toBe(bare);
  });
});

describe("parameterize", () => {
  test.each([
    [
      "select id from t where a = 'x' and b > 3 limit 5",
      "select id from t where a = $1 and b > $2 limit $3",
      3,
    ],
    ["select id, ssn from t order by 2", "select id, ssn from t order by 2", 0],
    [
      "select a, count(*) from t group by 1 order by 2 desc",
      "select a, count(*) from t group by 1 order by 2 desc",
      0,
    ],
    ["select x::varchar(10), interval '1 day' from t", "select x::varchar(10), interval '1 day' from t", 0],
    ["select -4, 'é', $1 from t", "select $2, $3, $1 from t", 3],
    ["select E'a\\'b', true, null from t", "select $1, true, null from t", 1],
  ])("%s", (text, want, params) => {
    const got = parameterize(text);
    expect({ text: got.text, params: got.params }).toEqual({ text: want, params });
  });
});

describe("statementQueries", () => {
  test("wrappers are planned as the query they run; writes and utilities are not planned", () => {
    const got = statementQueries(
      "explain (costs off) select ssn from t; declare c cursor for select a from t; prepare p as select $1::int; " +
        "copy (select a from t) to stdout; copy t to stdout; delete from t where id = 1; set timezone = 'UTC'; " +
        "select distinct on (2) a, b from t",
    ).map((s) => s.query);
    expect(got).toEqual([
      { kind: "query", text: "select ssn from t" },
      { kind: "query", text: "select a from t" },
      { kind: "query", text: "select $1::int" },
      { kind: "query", text: "select a from t" },
      { kind: "not_applicable", reason: "COPY of a table (its columns are output as they are)" },
      { kind: "not_applicable", reason: "writes" },
      { kind: "not_applicable", reason: "VariableSetStmt" },
      { kind: "unresolved", reason: "DISTINCT ON with a column position" },
    ]);
  });

  test("functions as written", () => {
    expect(statementQueries("select pg_catalog.setval('s', 1), lower(x) from t")[0]!.functions).toEqual([
      "pg_catalog.setval",
      "lower",
    ]);
  });
});

test("snakeName", () => {
  expect(["customerSSN", "TaxID", "IBAN", "dateOfBirth", "Account Number"].map(snakeName)).toEqual([
    "customer_ssn",
    "tax_id",
    "iban",
    "date_of_birth",
    "account_number",
  ]);
});

const COLS: Record<string, string[]> = {
  "public.customers": ["id", "name", "ssn"],
  "public.orders": ["id", "customer_id"],
};
const catalog = {
  columns: (s: string, t: string) => COLS[`${s}.${t}`],
  indexColumns: (_s: string, i: string) =>
    i === "customers_ssn_idx" ? ["ssn"] : i === "customers_pkey" ? ["id"] : undefined,
};
const scan = (alias: string, output: string[], extra: Record<string, unknown> = {}): PlanNode => ({
  "Node Type": "Seq Scan",
  "Relation Name": "customers",
  Schema: "public",
  Alias: alias,
  Output: output,
  ...extra,
});
const uses = (plan: PlanNode) =>
  planUses(plan, catalog)
    .map((u) => `${u.column}:${u.use}`)
    .sort();

describe("planUses (captured PostgreSQL 15 plans)", () => {
  test("ORDER BY 2 sorts on ssn", () => {
    const plan = {
      "Node Type": "Sort",
      Output: ["id", "ssn"],
      "Sort Key": ["customers.ssn"],
      Plans: [scan("customers", ["id", "ssn"])],
    };
    expect(uses(plan)).toEqual(["id:output", "ssn:filter", "ssn:output"]);
  });

  test("a whole-row filter reads every column", () => {
    expect(uses(scan("c", ["id"], { Filter: "((c.*)::text ~~ $1)" }))).toEqual([
      "id:output",
      "id:whole_row",
      "name:whole_row",
      "ssn:whole_row",
    ]);
  });

  test("a scalar subquery's output is a subplan use", () => {
    const plan = {
      "Node Type": "Result",
      Output: ["$0"],
      Plans: [
        {
          "Node Type": "Limit",
          "Parent Relationship": "InitPlan",
          "Subplan Name": "InitPlan 1 (returns $0)",
          Output: ["customers.ssn"],
          Plans: [scan("customers", ["customers.ssn"])],
        },
      ],
    };
    expect(uses(plan)).toContain("ssn:subplan");
  });

  test("a materialized CTE's columns are every column it outputs", () => {
    const plan = {
      "Node Type": "CTE Scan",
      "CTE Name": "x",
      Alias: "x",
      Output: ["x.id"],
      Filter: "(x.a > $1)",
      Plans: [
        {
          ...scan("customers", ["customers.id", "customers.ssn"]),
          "Parent Relationship": "InitPlan",
          "Subplan Name": "CTE x",
        },
      ],
    };
    expect(uses(plan)).toEqual(["id:filter", "id:output", "ssn:filter", "ssn:output"]);
  });

  test("UNION arms are set operations; an index scan on ssn is a filter", () => {
    const plan = {
      "Node Type": "Append",
      Plans: [scan("customers", ["customers.ssn"]), scan("customers_1", ["customers_1.name"])],
    };
    expect(uses(plan)).toEqual(["name:set_operation", "ssn:set_operation"]);
    const idx = {
      "Node Type": "Index Scan",
      "Index Name": "customers_ssn_idx",
      "Relation Name": "customers",
      Schema: "public",
      Alias: "customers",
      Output: ["id"],
    };
    expect(uses(idx)).toEqual(["id:output", "ssn:filter"]);
  });

  test("a node it cannot attribute is an error, not a guess", () => {
    expect(() => planUses({ "Node Type": "Custom Scan", Alias: "z", Output: ["z.a"] }, catalog)).toThrow();
    expect(() => planUses(scan("c", ["q.a"]), catalog)).toThrow();
  });
});
