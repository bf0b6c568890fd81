import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { freePort } from "../../../test/support/free-port.ts";
import { type PgServer, startPostgres } from "../../../test/support/postgres.ts";
import { type CatalogConnection, ColumnCatalog } from "./column-catalog.ts";

let pg: PgServer;
let client: postgres.Sql;
let conn: CatalogConnection;

beforeAll(async () => {
  pg = await startPostgres();
  pg.sql(
    `create schema bank;
     create table bank.customers (id int primary key, name text, ssn text, email text);
     create table public.orders (id int, customer_id int, card_number text, total numeric);
     create view public.v_customers as select id, ssn as tax, upper(name) as uname from bank.customers;
     create view public.v_nested as select tax as t2, uname from public.v_customers;
     create materialized view public.mv as select ssn from bank.customers;`,
    pg.database,
  );
  conn = {
    host: pg.host,
    port: pg.port,
    user: pg.roles.scram.user,
    password: pg.roles.scram.password,
    database: pg.database,
  };
  client = postgres(pg.url(), { max: 1, onnotice: () => {} });
}, 60_000);

afterAll(async () => {
  await client?.end();
  await pg?.stop();
});

/** The RowDescription PostgreSQL sends for a query, as a driver sees it. */
async function describeFields(query: string) {
  const d = await client.unsafe(query).describe();
  return (d.columns as unknown as { name: string; table: number; number: number }[]).map((c) => ({
    name: c.name,
    tableOid: c.table,
    column: c.number,
  }));
}

async function sources(catalog: ColumnCatalog, query: string) {
  const fields = await describeFields(query);
  const resolved = await catalog.resolve(fields);
  return fields.map((f, i) => {
    const s = resolved[i];
    return `${f.name}=${s ? `${s.schema}.${s.table}.${s.column}` : "?"}`;
  });
}

describe("ColumnCatalog", () => {
  test("aliases, stars, joins and expressions", async () => {
    const catalog = new ColumnCatalog(conn);
    try {
      expect(await sources(catalog, "select ssn as x, id from bank.customers")).toEqual([
        "x=bank.customers.ssn",
        "id=bank.customers.id",
      ]);
      expect(
        await sources(
          catalog,
          "select c.*, o.card_number as pan from bank.customers c join orders o on o.customer_id = c.id",
        ),
      ).toEqual([
        "id=bank.customers.id",
        "name=bank.customers.name",
        "ssn=bank.customers.ssn",
        "email=bank.customers.email",
        "pan=public.orders.card_number",
      ]);
      expect(
        await sources(catalog, "select upper(ssn), 1 as one, ssn || '' as s from bank.customers"),
      ).toEqual(["upper=?", "one=?", "s=?"]);
      expect(await sources(catalog, "select x.s from (select ssn as s from bank.customers) x")).toEqual([
        "s=bank.customers.ssn",
      ]);
    } finally {
      await catalog.close();
    }
  });

  test("views resolve to their underlying columns, expressions to the view's own column", async () => {
    const catalog = new ColumnCatalog(conn);
    try {
      expect(await sources(catalog, "select * from v_customers")).toEqual([
        "id=bank.customers.id",
        "tax=bank.customers.ssn",
        "uname=public.v_customers.uname",
      ]);
      expect(await sources(catalog, "select t2 as z, uname from v_nested")).toEqual([
        "z=bank.customers.ssn",
        "uname=public.v_customers.uname",
      ]);
      expect(await sources(catalog, "select ssn from mv")).toEqual(["ssn=bank.customers.ssn"]);
    } finally {
      await catalog.close();
    }
  });

  test("cached until the TTL expires, and bounded in size", async () => {
    let now = 1_000;
    const catalog = new ColumnCatalog(conn, { ttlMs: 5_000, maxEntries: 3, now: () => now });
    pg.sql("create table public.t_ttl (a text, b text, c text, d text)", pg.database);
    try {
      expect(await sources(catalog, "select a from t_ttl")).toEqual(["a=public.t_ttl.a"]);
      pg.sql("alter table public.t_ttl rename column a to a2", pg.database);
      expect(await sources(catalog, "select a2 from t_ttl")).toEqual(["a2=public.t_ttl.a"]); // cached
      now += 6_000;
      expect(await sources(catalog, "select a2 from t_ttl")).toEqual(["a2=public.t_ttl.a2"]);
      expect(await sources(catalog, "select * from t_ttl")).toEqual([
        "a2=public.t_ttl.a2",
        "b=public.t_ttl.b",
        "c=public.t_ttl.c",
        "d=public.t_ttl.d",
      ]);
      expect(catalog.size).toBeLessThanOrEqual(3);
    } finally {
      await catalog.close();
    }
  });

  test("string-like types: enums and domains over text, not arrays or numbers", async () => {
    pg.sql(
      "create type mood as enum ('ok', 'sad'); create domain email_addr as text; create table typed (m mood, e email_addr, a text[], n int8, t text)",
      pg.database,
    );
    const catalog = new ColumnCatalog(conn);
    try {
      const d = await client.unsafe("select * from typed").describe();
      const types = (d.columns as unknown as { type: number }[]).map((c) => c.type);
      const strings = await catalog.stringTypes(types);
      expect(types.map((t) => strings.has(t))).toEqual([true, true, false, false, true]);
      expect(await catalog.stringTypes(types)).toEqual(strings); // cached
    } finally {
      await catalog.close();
    }
  });

  test("fields without a table need no upstream at all", async () => {
    const catalog = new ColumnCatalog({ ...conn, port: await freePort() });
    try {
      expect(await catalog.resolve([{ tableOid: 0, column: 0 }])).toEqual([undefined]);
    } finally {
      await catalog.close();
    }
  });

  test("an unreachable upstream is a clear error", async () => {
    const catalog = new ColumnCatalog({ ...conn, port: await freePort() });
    try {
      await expect(catalog.resolve([{ tableOid: 16384, column: 1 }])).rejects.toMatchObject({
        code: "upstream.unreachable",
        message: "column catalog lookup failed",
      });
    } finally {
      await catalog.close();
    }
  });
});
