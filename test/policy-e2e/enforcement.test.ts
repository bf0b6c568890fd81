// Policy enforcement through the live gateway with real clients (psql, postgres.js, a raw wire client)
// against a real PostgreSQL whose statement log shows what reached it: allowed, denied and review
// statements, multi-statement strings, extended-protocol Parse, transaction blocks, and the audit trail.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import * as wire from "../support/raw-client.ts";
import { type AuditReader, appUrl, auditReader } from "./support.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let audit: AuditReader;
let agent: string;
let human: string;

const count = (where: string, table = "accounts") =>
  Number(db.sql(`SELECT count(*) FROM ${table} WHERE ${where}`, "ledger").trim());
/** What PostgreSQL itself logged (log_statement = all): proof of what reached the server. */
const serverLog = () => readFileSync(join(db.dataDir, "log"), "utf8");

beforeAll(async () => {
  [db, issuer] = await Promise.all([
    startPostgres({ settings: { log_statement: "all" } }),
    startOidcIssuer(),
  ]);
  db.sql("CREATE TABLE accounts (id int primary key, owner text, balance numeric, ssn text)", "ledger");
  db.sql(
    "INSERT INTO accounts SELECT g, 'owner ' || g, g * 10, '123-45-' || lpad(g::text, 4, '0') FROM generate_series(1, 50) g",
    "ledger",
  );
  db.sql("CREATE TABLE payments (id int primary key, amount numeric)", "ledger");
  gw = await startTestGateway({
    pg: db,
    issuer,
    connection: { table_labels: { "public.payments": ["regulated"] } },
  });
  audit = await auditReader(gw);
  agent = await gw.token("agent-7", ["agents"]);
  human = await gw.token("alice@bank.example", ["dba"]);
});

afterAll(async () => {
  await audit?.close();
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

describe("simple query protocol (psql)", () => {
  test("an agent's read is allowed and audited with rule, bundle, kinds and fingerprints", async () => {
    const r = await psql(appUrl(gw, agent, "e2e-read"), ["-tAc", "SELECT count(*) FROM accounts"]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("50");
    const [event] = await audit.statements("e2e-read");
    expect(event).toMatchObject({
      action: "allow",
      rule: "custos.agent_read",
      record: "buffered",
      bundle: gw.gw.policy.hash!,
      tag: "SELECT 1",
      statements: [{ kind: "select", fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) }],
    });
  });

  test("an agent's DROP is refused with 42501, the reason and the rule; the table stays", async () => {
    const r = await psql(appUrl(gw, agent, "e2e-drop"), [
      "-v",
      "VERBOSITY=verbose",
      "-c",
      "DROP TABLE accounts",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("ERROR:  42501: permission denied by policy: agents may not run DDL (drop)");
    expect(r.stderr).toContain("(rule custos.agent_ddl)");
    expect(count("true")).toBe(50);
    expect(serverLog()).not.toContain("DROP TABLE accounts");
    const [event] = await audit.statements("e2e-drop");
    expect(event).toMatchObject({
      action: "deny",
      rule: "custos.agent_ddl",
      record: "sync",
      bundle: gw.gw.policy.hash!,
      tag: null,
      error: { code: "policy.denied" },
      statements: [{ kind: "drop" }],
    });
  });

  test("a write to a regulated table answers `approval required` (review) and does not run", async () => {
    const r = await psql(appUrl(gw, human, "e2e-review"), [
      "-v",
      "VERBOSITY=verbose",
      "-c",
      "INSERT INTO payments VALUES (1, 100)",
    ]);
    expect(r.code).not.toBe(0);
    // Without approvers configured the approvals flow refuses at once; the wording after
    // "approval required" belongs to that flow.
    expect(r.stderr).toContain("ERROR:  42501: approval required");
    expect(count("true", "payments")).toBe(0);
    const [event] = await audit.statements("e2e-review");
    // The approvals flow owns what a review becomes; the refusal is audited as a review either way.
    expect(event).toMatchObject({ tag: null, error: { code: "policy.review" } });
    // Refused for want of approvers: the review the policy asked for is kept beside the refusal.
    expect(event!.review).toEqual({
      rule: "custos.regulated_write",
      reason: expect.stringContaining("approval"),
    });
  });

  test("a human's bounded write on an unregulated table is allowed and held for a durable record", async () => {
    const r = await psql(appUrl(gw, human, "e2e-write"), [
      "-c",
      "UPDATE accounts SET balance = balance + 1 WHERE id = 50",
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("UPDATE 1");
    const [event] = await audit.statements("e2e-write");
    expect(event).toMatchObject({
      action: "allow",
      rule: "custos.allow",
      record: "sync",
      tag: "UPDATE 1",
      rows: 1,
    });
  });

  test("one denied statement denies the whole string: nothing of it runs", async () => {
    const r = await psql(appUrl(gw, human, "e2e-multi"), [
      "-c",
      "INSERT INTO accounts VALUES (1000, 'x', 0); UPDATE accounts SET owner = 'y' WHERE id = 1; DELETE FROM accounts",
    ]);
    expect(r.stderr).toContain(
      "DELETE without a WHERE clause that restricts rows (rule custos.unbounded_write)",
    );
    expect(count("id = 1000")).toBe(0);
    expect(count("owner = 'y'")).toBe(0);
    expect(count("true")).toBe(50);
    expect(serverLog()).not.toContain("VALUES (1000, 'x', 0)");
    const [event] = await audit.statements("e2e-multi");
    expect(event).toMatchObject({ action: "deny", rule: "custos.unbounded_write" });
    expect((event!.statements as { kind: string }[]).map((s) => s.kind)).toEqual([
      "insert",
      "update",
      "delete",
    ]);
  });

  test("the session stays usable after each denial", async () => {
    const r = await psql(
      appUrl(gw, agent, "e2e-usable"),
      ["-v", "ON_ERROR_STOP=0", "-tA"],
      "TRUNCATE accounts;\nSELECT 1;\nSET ROLE custos_admin;\nSELECT current_user = 'custos_scram';\nDELETE FROM accounts WHERE id = 1;\nSELECT count(*) FROM accounts;\n",
    );
    expect(r.stdout.trim().split("\n")).toEqual(["1", "t", "50"]);
    expect(r.stderr.match(/permission denied by policy/g)?.length).toBe(3);
    const events = await audit.statements("e2e-usable", 6);
    expect(events.map((e) => `${e.action} ${e.rule}`)).toEqual([
      "deny custos.agent_ddl",
      "allow custos.agent_read",
      "deny custos.agent_role_change",
      "allow custos.agent_read",
      "deny custos.agent_write",
      "allow custos.agent_read",
    ]);
  });
});

describe("transaction blocks", () => {
  test("a denial inside BEGIN fails the transaction as PostgreSQL would: COMMIT reports ROLLBACK", async () => {
    const r = await psql(
      appUrl(gw, human, "e2e-tx"),
      ["-v", "ON_ERROR_STOP=0", "-tA"],
      [
        "BEGIN;",
        "INSERT INTO accounts VALUES (2000, 'tx', 1);",
        "DELETE FROM accounts;",
        "SELECT 1;",
        "COMMIT;",
        "SELECT count(*) FROM accounts WHERE id = 2000;",
        "",
      ].join("\n"),
    );
    expect(r.stderr).toContain("(rule custos.unbounded_write)");
    // The statement after the denial meets the failed block, answered by the server itself.
    expect(r.stderr).toContain(
      "current transaction is aborted, commands ignored until end of transaction block",
    );
    expect(r.stdout).toContain("ROLLBACK");
    expect(r.stdout.trim().split("\n").at(-1)).toBe("0");
    expect(count("id = 2000")).toBe(0);
  });

  test("postgres.js: sql.begin with a denied statement rolls back the allowed write; the pool goes on", async () => {
    const sql = postgres(gw.url(human), {
      max: 1,
      onnotice: () => {},
      connection: { application_name: "e2e-tx-js" },
    });
    try {
      const failed = await sql
        .begin(async (tx) => {
          await tx`INSERT INTO accounts VALUES (${3000}, 'tx', 1)`;
          await tx`DELETE FROM accounts WHERE ${true}`;
        })
        .then(
          () => null,
          (e: { code?: string; message: string }) => e,
        );
      expect(failed?.code).toBe("42501");
      expect(failed?.message).toContain("custos.unbounded_write");
      expect(count("id = 3000")).toBe(0);
      const [row] = await sql`SELECT count(*)::int AS n FROM accounts`;
      expect(row!.n).toBe(50);
    } finally {
      await sql.end();
    }
  });
});

describe("extended protocol", () => {
  test("postgres.js: a denied statement with a parameter never reaches the server", async () => {
    const sql = postgres(gw.url(agent), { max: 1, connection: { application_name: "e2e-parse-js" } });
    try {
      const marker = "e2e_marker_parse_js";
      const err = await sql.unsafe(`DELETE FROM accounts /* ${marker} */ WHERE id = $1`, [7]).then(
        () => null,
        (e: { code?: string; message: string }) => e,
      );
      expect(err?.code).toBe("42501");
      expect(err?.message).toContain("(rule custos.agent_write)");
      expect(count("id = 7")).toBe(1);
      // The server saw the stand-in statement, never the denied text.
      expect(serverLog()).not.toContain(marker);
      const [row] = await sql`SELECT owner FROM accounts WHERE id = ${7}`;
      expect(row!.owner).toBe("owner 7");
      // postgres.js reads the array types first; pick the test's own statements.
      const events = (await audit.statements("e2e-parse-js", 3)).filter((e) =>
        String(e.text).includes("accounts"),
      );
      expect(events[0]).toMatchObject({
        action: "deny",
        rule: "custos.agent_write",
        statements: [{ kind: "delete" }],
      });
      expect(events[1]).toMatchObject({ action: "allow", tag: "SELECT 1" });
    } finally {
      await sql.end();
    }
  });

  test("a later Bind/Execute of a refused named statement fails on the server; the session goes on", async () => {
    const client = await wire.session(gw.port, agent, "e2e-parse-raw");
    try {
      const marker = "e2e_marker_parse_raw";
      client.send(
        wire.parse("s1", `UPDATE accounts SET owner = 'stolen' /* ${marker} */ WHERE id = $1`),
        wire.bind("s1", ["8"]),
        wire.execute(),
        wire.sync(),
      );
      const first = await client.untilReady();
      expect(first.map((m) => m.type)).toEqual(["E", "Z"]);
      expect(first[0]!.fields?.C).toBe("42501");
      expect(first[0]!.fields?.M).toContain("(rule custos.agent_write)");

      client.send(wire.bind("s1", ["8"]), wire.execute(), wire.sync());
      const second = await client.untilReady();
      expect(second.map((m) => m.type)).toEqual(["E", "Z"]);
      expect(second[0]!.fields?.C).toBe("26000"); // invalid_sql_statement_name: the server never had s1
      expect(second[1]!.text).toBe("I");

      client.send(
        wire.parse("s2", "SELECT owner FROM accounts WHERE id = $1"),
        wire.bind("s2", ["8"]),
        wire.execute(),
        wire.sync(),
      );
      const third = await client.untilReady();
      expect(third.map((m) => m.type)).toEqual(["1", "2", "D", "C", "Z"]);
      expect(count("owner = 'stolen'")).toBe(0);
      expect(serverLog()).not.toContain(marker);
    } finally {
      client.quit();
    }
  });

  test("a pipeline after a refused Parse is skipped up to Sync, like after any server error", async () => {
    const client = await wire.session(gw.port, human, "e2e-pipeline");
    try {
      client.send(
        wire.parse("", "INSERT INTO accounts VALUES (4000, 'p', 1)"),
        wire.bind(""),
        wire.execute(),
        wire.parse("", "DELETE FROM accounts"),
        wire.bind(""),
        wire.execute(),
        wire.parse("", "INSERT INTO accounts VALUES (4001, 'p', 1)"),
        wire.bind(""),
        wire.execute(),
        wire.sync(),
      );
      const out = await client.untilReady();
      expect(out.map((m) => m.type)).toEqual(["1", "2", "C", "E", "Z"]);
      expect(out[3]!.fields?.C).toBe("42501");
      // The implicit transaction of the pipeline failed: the first insert is rolled back, the last never ran.
      expect(count("id IN (4000, 4001)")).toBe(0);
    } finally {
      client.quit();
    }
  });
});
