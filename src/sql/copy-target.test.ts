import { beforeAll, describe, expect, test } from "bun:test";
import { loadSqlParser } from "./classifier.ts";
import { copyOutputs } from "./copy-target.ts";

beforeAll(() => loadSqlParser());

describe("copyOutputs", () => {
  test("a table with a column list becomes a SELECT of those columns", () => {
    expect(copyOutputs("copy public.customers (id, ssn) to stdout")).toEqual([
      {
        query: 'select "id", "ssn" from "public"."customers"',
        format: "text",
        delimiter: null,
        header: false,
        unsupported: [],
      },
    ]);
  });

  test("a whole table, quoted names kept", () => {
    expect(copyOutputs('COPY "Odd""Name" TO STDOUT')[0]!.query).toBe('select * from "Odd""Name"');
  });

  test("a query keeps its own text, parentheses inside literals and nesting included", () => {
    const sql =
      "select 1; COPY (select ssn, ')' as p, (select 2) from customers) TO STDOUT WITH (FORMAT csv, HEADER, DELIMITER ';')";
    expect(copyOutputs(sql)).toEqual([
      {
        query: "select ssn, ')' as p, (select 2) from customers",
        format: "csv",
        delimiter: 59,
        header: true,
        unsupported: [],
      },
    ]);
  });

  test("old syntax: CSV HEADER, BINARY", () => {
    expect(copyOutputs("copy t to stdout with csv header")[0]).toMatchObject({ format: "csv", header: true });
    expect(copyOutputs("copy t to stdout binary")[0]!.format).toBe("binary");
    expect(copyOutputs("copy t to stdout (format csv, header false)")[0]!.header).toBe(false);
  });

  test("options the masker does not model are reported", () => {
    expect(
      copyOutputs("copy t to stdout (format csv, null 'x', quote '''', escape '\\', encoding 'LATIN1')")[0]!
        .unsupported,
    ).toEqual(["null", "quote", "escape", "encoding"]);
    expect(copyOutputs("copy t to stdout (delimiter '||')")).toHaveLength(1);
  });

  test("COPY FROM, to a file or a program is not an output to the client", () => {
    expect(copyOutputs("copy t from stdin; copy t to '/tmp/x'; copy t to program 'cat'; select 1")).toEqual(
      [],
    );
  });

  test("unparseable text throws", () => {
    expect(() => copyOutputs("copy (select from")).toThrow();
  });
});
