// Where column references end up (output, expression, filter, whole row, renamed), on the real parser.
import { beforeAll, describe, expect, test } from "bun:test";
import { createSqlClassifier, type SqlClassifier } from "./classifier.ts";
import type { SqlStatement } from "./types.ts";

let classifier: SqlClassifier;
beforeAll(async () => {
  classifier = await createSqlClassifier();
});

type Lineage = Pick<
  SqlStatement,
  "expression_columns" | "filter_columns" | "row_references" | "renamed_columns"
>;

function lineage(sql: string): Lineage {
  const r = classifier.classify(sql);
  expect(r.error).toBeUndefined();
  const s = r.statements[0]!;
  return {
    expression_columns: s.expression_columns,
    filter_columns: s.filter_columns,
    row_references: s.row_references,
    renamed_columns: s.renamed_columns,
  };
}

const none: Lineage = { expression_columns: [], filter_columns: [], row_references: [], renamed_columns: [] };

describe("column lineage", () => {
  const table: [string, Partial<Lineage>][] = [
    ["select ssn, id from customers", {}],
    ["select * from customers", {}],
    ["select c.* from customers c", {}],
    ["select ssn as x from customers", { renamed_columns: [{ name: "x", from: "ssn" }] }],
    ["select ssn, upper(email) from customers", { expression_columns: ["email"] }],
    ["select ssn::text from customers", { expression_columns: ["ssn"] }],
    ["select ssn || '' from customers", { expression_columns: ["ssn"] }],
    ["select concat(ssn) from customers", { expression_columns: ["ssn"] }],
    ["select format('%s', ssn) from customers", { expression_columns: ["ssn"] }],
    ["select encode(convert_to(ssn, 'UTF8'), 'hex') from customers", { expression_columns: ["ssn"] }],
    ["select string_agg(ssn, ',' order by id) from customers", { expression_columns: ["ssn", "id"] }],
    ["select case when true then ssn end from customers", { expression_columns: ["ssn"] }],
    ["select coalesce(ssn, '') from customers", { expression_columns: ["ssn"] }],
    ['select ssn collate "C" from customers', { expression_columns: ["ssn"] }],
    ["select (select ssn from customers limit 1) as x", { expression_columns: ["ssn"] }],
    ["select array(select ssn from customers)", { expression_columns: ["ssn"] }],
    ["select ssn from customers union select 'x'", { expression_columns: ["ssn"] }],
    ["select 'x' as y union all select ssn from customers", { expression_columns: ["ssn"] }],
    ["select * from customers union select * from customers", { expression_columns: ["*"] }],
    ["values ((select ssn from customers limit 1))", { expression_columns: ["ssn"] }],
    ["select row_to_json(c) from customers c", { expression_columns: ["c"], row_references: ["c"] }],
    ["select to_json(c.*) from customers c", { row_references: ["c"] }],
    [
      "select json_agg(t) from (select ssn from customers) t",
      { expression_columns: ["t"], row_references: ["t"] },
    ],
    ["select c from customers c", { row_references: ["c"] }],
    ["select customers from customers", { row_references: ["customers"] }],
    [
      "with x as (select ssn as a from customers) select upper(a) from x",
      { expression_columns: ["a"], renamed_columns: [{ name: "a", from: "ssn" }] },
    ],
    [
      "with x(a) as (select ssn from customers) select md5(a) from x",
      { expression_columns: ["a"], renamed_columns: [{ name: "a", from: "ssn" }] },
    ],
    [
      "select upper(b) from (select ssn as a from customers) s(b)",
      {
        expression_columns: ["b"],
        renamed_columns: [
          { name: "a", from: "ssn" },
          { name: "b", from: "ssn" },
        ],
      },
    ],
    [
      "select upper(e) from customers c(a, b, x, d, e)",
      {
        expression_columns: ["e"],
        renamed_columns: ["a", "b", "x", "d", "e"].map((name) => ({ name, from: "*" })),
      },
    ],
    [
      "select upper(b) from (select a as b from (select ssn as a from customers) s) t",
      {
        expression_columns: ["b"],
        renamed_columns: [
          { name: "b", from: "a" },
          { name: "b", from: "ssn" },
          { name: "a", from: "ssn" },
        ],
      },
    ],
    ["select id from customers where ssn like '0%'", { filter_columns: ["ssn"] }],
    ["select id from customers order by email", { filter_columns: ["email"] }],
    ["select count(*) from customers group by phone having count(*) > 1", { filter_columns: ["phone"] }],
    ["select distinct on (ssn) id from customers", { filter_columns: ["ssn"] }],
    ["select a.id from accounts a join customers c on c.ssn = a.x", { filter_columns: ["c.ssn", "a.x"] }],
    ["select a.id from accounts a join customers c using (ssn)", { filter_columns: ["ssn"] }],
    [
      "select id from customers c where exists (select * from accounts a where a.customer_id = c.id)",
      { filter_columns: ["a.customer_id", "c.id"] },
    ],
    ["select id from customers where ssn in (select ssn from old)", { filter_columns: ["ssn"] }],
    [
      "select * from customers c, lateral regexp_split_to_table(c.ssn, '-') x",
      { expression_columns: ["c.ssn"] },
    ],
    ["copy (select upper(ssn) from customers) to stdout", { expression_columns: ["ssn"] }],
    ["copy customers (id, ssn) to stdout", {}],
    ["select count(*) from customers", {}],
    // A built-in set-returning function's alias is its output, not a table's row (psql's \\d queries).
    [
      "select string_agg(attname, ', ') from pg_catalog.generate_series(0, 3) s, pg_attribute where attnum = prattrs[s]",
      { expression_columns: ["attname"], filter_columns: ["attnum", "prattrs", "s"] },
    ],
    ["select 'toast.' || x from pg_catalog.unnest(array['a']) x", { expression_columns: ["x"] }],
    [
      "select a.attname from pg_catalog.unnest(array[1]) s(attnum) join pg_attribute a on a.attnum = s.attnum",
      { filter_columns: ["a.attnum", "s.attnum"] },
    ],
    ["select s from rows from (generate_series(1, 2), unnest(array[1])) with ordinality s", {}],
    // psql's \d against PostgreSQL 16+: the positional names of a catalog function's columns are no
    // sensitive source (renamed_columns stays empty, so ORDER BY a.depth is not a masked filter).
    [
      "select u.tgrelid from pg_catalog.pg_trigger u, pg_catalog.pg_partition_ancestors(16384) with ordinality as a(relid, depth) where u.tgrelid = a.relid order by a.depth limit 1",
      { filter_columns: ["a.depth", "a.relid", "u.tgrelid"] },
    ],
    // ...but a real table's alias is still a whole row, whatever else shares the name elsewhere.
    [
      "select s from customers s where exists (select 1 from generate_series(1, 2) s)",
      { row_references: ["s"] },
    ],
    // ...and an opaque function (user-defined, maybe RETURNS SETOF customers) is a relation's rows.
    ["select f from my_customers() f", { row_references: ["f"] }],
    ["select f from public.generate_series(1, 2) f", { row_references: ["f"] }],
    ["select u from customers c, unnest(array[c.*]) u", { row_references: ["c"] }],
    ["select x from customers c, unnest(array[c.ssn]) x", { expression_columns: ["c.ssn"] }],
  ];
  for (const [sql, want] of table) {
    test(sql, () => {
      const got = lineage(sql);
      const sort = (l: Lineage) => ({
        ...l,
        expression_columns: [...l.expression_columns].sort(),
        filter_columns: [...l.filter_columns].sort(),
        row_references: [...l.row_references].sort(),
        renamed_columns: [...l.renamed_columns].sort((x, y) =>
          `${x.name}${x.from}`.localeCompare(`${y.name}${y.from}`),
        ),
      });
      expect(sort(got)).toEqual(sort({ ...none, ...want }));
    });
  }

  test("statements differing only in literals share one lineage (the shape cache relies on it)", () => {
    expect(lineage("select id from customers where ssn = '078-05-1120'")).toEqual(
      lineage("select id from customers where ssn = '219-09-9999'"),
    );
  });
});
