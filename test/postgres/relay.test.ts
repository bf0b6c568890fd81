// End to end through the gateway with real clients (psql, postgres.js, pg) against a real PostgreSQL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pg from "pg";
import postgres from "postgres";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let token: string;

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  gw = await startTestGateway({ pg: db, issuer });
  token = await gw.token("alice@bank.example", ["dba"]);
  db.sql("CREATE TABLE accounts (id int primary key, owner text, balance numeric)", "ledger");
  db.sql("INSERT INTO accounts SELECT g, 'owner ' || g, g * 10 FROM generate_series(1, 100) g", "ledger");
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

describe("relay", () => {
  test("psql runs a query through the gateway", async () => {
    const r = await psql(gw.url(token), ["-tAc", "select count(*), sum(balance) from accounts"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("100|50500");
  });

  test("postgres.js: extended protocol, parameters, transactions", async () => {
    const sql = postgres(gw.url(token), { max: 2 });
    try {
      const rows = await sql`select id, owner from accounts where id = ${7}`;
      expect([...rows]).toEqual([{ id: 7, owner: "owner 7" }]);
      await sql.begin(async (tx) => {
        await tx`update accounts set balance = balance + 1 where id = ${1}`;
      });
      const [row] = await sql`select balance from accounts where id = 1`;
      expect(row!.balance).toBe("11");
    } finally {
      await sql.end();
    }
  });

  test("node-postgres: simple and prepared queries", async () => {
    const client = new pg.Client({ connectionString: gw.url(token) });
    await client.connect();
    try {
      const r = await client.query("select $1::int + 1 as n", [41]);
      expect(r.rows[0].n).toBe(42);
      const named = await client.query({
        name: "by-id",
        text: "select owner from accounts where id = $1",
        values: [3],
      });
      expect(named.rows[0].owner).toBe("owner 3");
      const again = await client.query({
        name: "by-id",
        text: "select owner from accounts where id = $1",
        values: [4],
      });
      expect(again.rows[0].owner).toBe("owner 4");
    } finally {
      await client.end();
    }
  });
});
