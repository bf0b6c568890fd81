// Harmless work that the policy used to refuse, through the live gateway against a real PostgreSQL:
// psql's meta-commands as an agent (its catalog queries alias generate_series and unnest, which are not
// whole rows), syntax errors answered as PostgreSQL does (42601 with the position, not 42501), and the
// empty query answered with EmptyQueryResponse (drivers' health checks). Each is compared with what the
// same client gets from PostgreSQL directly, and the whole-row rule still refuses real tables' rows.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pg from "pg";
import postgres from "postgres";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import * as wire from "../support/raw-client.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let agent: string;
let human: string;

const SSNS = ["078-05-1120", "219-09-9999", "457-55-5462"];

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  db.sql(
    `CREATE TABLE customers (id int primary key, name text, email text, ssn text);
     INSERT INTO customers VALUES (1, 'Ann', 'ann@example.com', '${SSNS[0]}'), (2, 'Bo', 'bo@example.com', '${SSNS[1]}'),
       (3, 'Cy', 'cy@example.com', '${SSNS[2]}');
     CREATE INDEX customers_name ON customers (name);
     CREATE STATISTICS customers_stats ON name, email FROM customers;
     CREATE VIEW customer_names AS SELECT id, name FROM customers;
     CREATE SEQUENCE invoice_no;
     CREATE FUNCTION add_one(int) RETURNS int LANGUAGE sql AS 'select $1 + 1';
     ANALYZE customers;`,
    "ledger",
  );
  gw = await startTestGateway({ pg: db, issuer });
  agent = await gw.token("agent-7", ["agents"]);
  human = await gw.token("alice@bank.example", ["dba"]);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

/** A direct libpq URL to the same database, for comparison. */
const direct = () => db.url();

describe("psql meta-commands as an agent", () => {
  const commands = [
    "\\d customers",
    "\\d+ customers",
    "\\dt",
    "\\l",
    "\\dn",
    "\\df",
    "\\di",
    "\\dv",
    "\\ds",
    "\\d",
    "\\du",
    "\\dp",
    "\\dx",
    "\\dT",
    "\\dd",
    "\\dconfig",
    "\\d+ customer_names",
    "\\df+ add_one",
    "\\dt+",
    "\\sf add_one",
    "\\dX",
    "\\dy",
    "\\dRp",
    "\\dc",
    "\\dD",
    "\\do",
    "\\db",
  ];
  for (const command of commands) {
    test(`${command} works and shows what it shows directly`, async () => {
      const [through, straight] = await Promise.all([
        psql(gw.url(agent), ["-c", command]),
        psql(direct(), ["-c", command]),
      ]);
      expect(through.stderr).toBe("");
      expect(through.code).toBe(0);
      // Owners and sizes are the same server's; only the role name differs between the two logins.
      const norm = (s: string) => s.replace(/\s+/g, " ");
      expect(norm(through.stdout).length).toBeGreaterThan(0);
      if (command === "\\dconfig") {
        // The gateway pins client_encoding and sets an agent's time-outs upstream: those rows are added.
        for (const setting of ["client_encoding", "statement_timeout", "idle_in_transaction_session_timeout"])
          expect(through.stdout).toContain(setting);
      } else if (command !== "\\l" && !command.includes("+"))
        expect(norm(through.stdout)).toBe(norm(straight.stdout));
      for (const ssn of SSNS) expect(through.stdout).not.toContain(ssn);
    });
  }

  test("a real table's whole row is still refused, wherever a function shares its alias", async () => {
    const attempts = [
      "select s from customers s, generate_series(1, 2) g",
      "select s::text from customers s where exists (select 1 from generate_series(1, 2) s)",
      "select x from customers c, unnest(array[c.*]) x",
      "select string_agg(c::text, ',') from customers c, generate_series(1, 1) s",
      "select f from public.customers f, pg_catalog.generate_series(1, 2) s where s = 1",
    ];
    for (const text of attempts) {
      const r = await psql(gw.url(agent), ["-c", text]);
      expect(r.code, text).not.toBe(0);
      for (const ssn of SSNS) expect(`${r.stdout}${r.stderr}`, text).not.toContain(ssn);
    }
  });
});

describe("syntax errors are PostgreSQL's 42601 with the position", () => {
  const typos = [
    "selec 1",
    "select 1 from",
    "select 'éé' frm x",
    "select 1;\nselec 2",
    "select * from customers wher id = 1",
  ];

  test("postgres.js: the same code, message and position as directly, plus the gateway's hint", async () => {
    const through = postgres(gw.url(agent), { max: 1 });
    const straight = postgres(direct(), { max: 1 });
    try {
      for (const text of typos) {
        type PgErr = Error & { code?: string; position?: string; hint?: string };
        const a = (await through.unsafe(text).catch((e) => e)) as PgErr;
        const b = (await straight.unsafe(text).catch((e) => e)) as PgErr;
        expect(a.code, text).toBe("42601");
        expect([a.message, a.position], text).toEqual([b.message, b.position]);
        expect(a.hint, text).toContain("gateway's SQL parser");
      }
      // The session goes on.
      expect((await through`select 1 as one`)[0]?.one).toBe(1);
    } finally {
      await Promise.all([through.end(), straight.end()]);
    }
  });

  test("psql points at the error as it does directly (LINE and caret)", async () => {
    const args = ["-v", "VERBOSITY=verbose", "-c", "selec 1"];
    const [through, straight] = await Promise.all([psql(gw.url(agent), args), psql(direct(), args)]);
    expect(through.stderr).toContain('ERROR:  42601: syntax error at or near "selec"');
    expect(through.stderr).toContain("LINE 1: selec 1\n        ^");
    expect(straight.stderr).toContain("LINE 1: selec 1\n        ^");
    expect(through.stderr).not.toContain("42501");
  });

  test("extended protocol: a Parse of a typo gets 42601 with the position", async () => {
    const { client } = await wire.login(gw.port, human);
    try {
      client.send(wire.parse("", "select 1 frm t"));
      client.send(wire.sync());
      const reply = await client.untilReady();
      const err = reply.find((m) => m.type === "E");
      expect(err?.fields).toMatchObject({ C: "42601", P: "14", M: 'syntax error at or near "t"' });
    } finally {
      client.close();
    }
  });
});

describe("the empty query gets EmptyQueryResponse", () => {
  test("raw client: Query(''), Query(';'), Query('  -- nothing') and Parse('')/Bind/Execute, as directly", async () => {
    for (const token of [agent, human]) {
      const { client } = await wire.login(gw.port, token);
      try {
        for (const text of ["", ";", "  -- nothing", " ; ; "]) {
          const reply = await client.simpleQuery(text);
          expect(reply.map((m) => m.type).join(""), JSON.stringify(text)).toBe("IZ");
        }
        client.send(wire.parse("", ""));
        client.send(wire.bind(""));
        client.send(wire.execute());
        client.send(wire.sync());
        const reply = await client.untilReady();
        expect(reply.map((m) => m.type).join("")).toBe("12IZ");
      } finally {
        client.close();
      }
    }
  });

  test("node-postgres and postgres.js: an empty query succeeds (pool health checks)", async () => {
    const client = new pg.Client({ connectionString: gw.url(agent) });
    await client.connect();
    try {
      const r = await client.query("");
      expect(r.rows).toEqual([]);
      expect((await client.query({ text: "", values: [] })).rows).toEqual([]);
    } finally {
      await client.end();
    }
    const sql = postgres(gw.url(agent), { max: 1 });
    try {
      expect([...(await sql.unsafe(""))]).toEqual([]);
      expect((await sql`select 2 as two`)[0]?.two).toBe(2);
    } finally {
      await sql.end();
    }
  });
});
