// Each default rule, evaluated by the compiled WASM module through the JS SDK, via the decider.
import { beforeAll, describe, expect, test } from "bun:test";
import type { Decider } from "../../src/policy/decider.ts";
import { buildDefaultBundle, context, defaultDecider } from "./support.ts";

let decider: Decider;
beforeAll(async () => {
  ({ decider } = await defaultDecider(buildDefaultBundle()));
});

const decide = (kind: "agent" | "human" | "service", sql: string, labels: string[] = []) =>
  decider.decide(context(kind, labels), { protocol: "postgres", text: sql });

describe("default pack through WASM", () => {
  const agentRules: [string, string][] = [
    ["DROP TABLE x", "custos.agent_ddl"],
    ["GRANT SELECT ON t TO u", "custos.agent_privilege"],
    ["SET ROLE admin", "custos.agent_role_change"],
    ["SELECT set_config('role', 'x', false)", "custos.agent_role_change"],
    ["COPY t TO PROGRAM 'x'", "custos.agent_copy_program"],
    ["COPY t TO '/tmp/x'", "custos.agent_server_file"],
    ["DO $$ BEGIN NULL; END $$", "custos.agent_dynamic_sql"],
    ["SELECT pg_ls_dir('.')", "custos.agent_server_function"],
    ["INSERT INTO t VALUES (1)", "custos.agent_write"],
    ["SET search_path = x", "custos.agent_setting"],
    ["LOAD 'x'", "custos.agent_read_only"],
    ["DELETE FROM t", "custos.agent_write"],
  ];
  for (const [sql, rule] of agentRules) {
    test(`agent: ${sql} → ${rule}`, async () => {
      const d = await decide("agent", sql);
      expect(d).toMatchObject({ action: "deny", rule, record: "sync" });
    });
  }

  test("where the connection has approvers, an agent's bounded writes go to review; unbounded and destructive ones are denied", async () => {
    const { decider: withApprovers } = await defaultDecider(buildDefaultBundle(), undefined, ["dba-leads"]);
    const on = (sql: string) => withApprovers.decide(context("agent"), { protocol: "postgres", text: sql });
    for (const sql of [
      "INSERT INTO t VALUES (1)",
      "UPDATE accounts SET balance = balance + 1 WHERE id = 7",
      "DELETE FROM t WHERE id = 1",
    ])
      expect(await on(sql)).toMatchObject({
        action: "review",
        rule: "custos.agent_write_review",
        record: "sync",
      });
    const refused: [string, string][] = [
      ["DELETE FROM t", "custos.unbounded_write"],
      ["UPDATE t SET a = 1 WHERE 1 = 1", "custos.unbounded_write"],
      ["TRUNCATE t", "custos.agent_ddl"],
      ["DROP TABLE t", "custos.agent_ddl"],
      [
        "WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) INSERT INTO u SELECT * FROM d",
        "custos.agent_write",
      ],
      ["WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d", "custos.agent_write"],
      ["INSERT INTO t VALUES (nextval('s'))", "custos.agent_side_effect"],
      ["SELECT * INTO t2 FROM t", "custos.agent_ddl"],
    ];
    for (const [sql, rule] of refused) expect(await on(sql)).toMatchObject({ action: "deny", rule });
    // Reads stay reads.
    expect(await on("SELECT 1")).toMatchObject({ action: "allow", rule: "custos.agent_read" });
  });

  test("agent reads are allowed, buffered and masked", async () => {
    const d = await decide("agent", "SELECT customer_ssn, name FROM accounts WHERE id = 1");
    expect(d).toMatchObject({ action: "allow", rule: "custos.agent_read", record: "buffered" });
    expect(d.mask).toContainEqual({ column: "customer_ssn", method: "partial" });
    expect(d.mask).toContainEqual({ column: "card_number", method: "partial" });
    expect(d.statements).toEqual([{ kind: "select", fingerprint: expect.any(String) }]);
    expect(d.bundle).toMatch(/^[0-9a-f]{64}$/);
  });

  test("UPDATE and DELETE without WHERE are denied for everyone", async () => {
    for (const kind of ["human", "service"] as const) {
      expect(await decide(kind, "DELETE FROM t")).toMatchObject({
        action: "deny",
        rule: "custos.unbounded_write",
      });
      expect(await decide(kind, "UPDATE t SET a = 1 WHERE 1 = 1")).toMatchObject({
        rule: "custos.unbounded_write",
      });
      expect(await decide(kind, "WITH d AS (DELETE FROM t RETURNING 1) SELECT 1")).toMatchObject({
        rule: "custos.unbounded_write",
      });
    }
  });

  test("humans may write and run DDL; writes are recorded sync", async () => {
    expect(await decide("human", "UPDATE t SET a = 1 WHERE id = 2")).toMatchObject({
      action: "allow",
      record: "sync",
    });
    expect(await decide("human", "CREATE TABLE n (a int)")).toMatchObject({
      action: "allow",
      record: "sync",
    });
    expect(await decide("human", "SELECT 1")).toMatchObject({ action: "allow", record: "buffered" });
  });

  test("writes to regulated tables or connections need review", async () => {
    expect(await decide("human", "UPDATE accounts SET a = 1 WHERE id = 2")).toMatchObject({
      action: "review",
      rule: "custos.regulated_write",
      record: "sync",
    });
    expect(await decide("human", "INSERT INTO other VALUES (1)", ["regulated"])).toMatchObject({
      action: "review",
    });
    expect(await decide("human", "SELECT * FROM accounts", ["regulated"])).toMatchObject({ action: "allow" });
  });

  test("string-lexing settings are denied for everyone", async () => {
    expect(await decide("human", "SET standard_conforming_strings = off")).toMatchObject({
      rule: "custos.parser_setting",
    });
  });

  test("a multi-statement string is denied when any statement is", async () => {
    const d = await decide("agent", "SELECT 1; SELECT 2; DROP TABLE x");
    expect(d).toMatchObject({ action: "deny", rule: "custos.agent_ddl" });
    expect(d.statements?.map((s) => s.kind)).toEqual(["select", "select", "drop"]);
  });

  test("unparseable SQL is denied with reason unparseable", async () => {
    expect(await decide("human", "SELEC 1")).toMatchObject({
      action: "deny",
      reason: "unparseable",
      rule: "custos.unparseable",
    });
  });

  test("non-SQL commands reach the policy without statements; agents are refused", async () => {
    const d = await decider.decide(context("agent"), { protocol: "http", text: "GET /" });
    expect(d).toMatchObject({ action: "deny", rule: "custos.agent_unclassified" });
    expect((await decider.decide(context("human"), { protocol: "http", text: "GET /" })).action).toBe(
      "allow",
    );
  });
});
