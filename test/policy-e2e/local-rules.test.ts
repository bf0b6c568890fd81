// Institution rules (package custos.local) added to the default pack, through the live gateway against a
// real PostgreSQL: a rule whose output is malformed denies (custos.invalid_decision) and nothing of the
// statement runs or answers; a business-hours rule gives both answers across the boundary (the bundle's
// sources say it reads input.time.hour, so its decisions are cached per hour, never across one).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createLogger } from "../../src/core/log.ts";
import { readBundle } from "../../src/policy/bundle.ts";
import { createDecider } from "../../src/policy/decider.ts";
import { PolicyEngine } from "../../src/policy/engine.ts";
import { createSqlClassifier } from "../../src/sql/classifier.ts";
import { context } from "../policy/support.ts";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { bundleWithLocalRules } from "../support/policy-bundle.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import * as wire from "../support/raw-client.ts";

const RULES = `package custos.local

import data.custos

touches(table) if {
	some s in custos.statements
	table in array.concat(s.tables_read, s.tables_written)
}

deny contains "just a string" if touches("public.t_string")

deny contains {"reason": "no rule"} if touches("public.t_norule")

deny contains {"rule": "bank.x"} if touches("public.t_noreason")

deny contains {"rule": 7, "reason": "x"} if touches("public.t_badtype")

deny contains {"rule": "bank.x", "reason": "x", "severity": "high"} if touches("public.t_extra")

review contains "needs a look" if touches("public.t_review")

deny contains {"rule": "bank.closed", "reason": "this table is closed"} if touches("public.t_closed")

deny contains {"rule": "bank.after_hours", "reason": "t_hours is open 09:00-18:00 UTC"} if {
	touches("public.t_hours")
	not business_hours
}

business_hours if {
	input.time.hour >= 9
	input.time.hour < 18
}
`;

const CANARY = "canary-41d9-value";
const TABLES = [
  "t_string",
  "t_norule",
  "t_noreason",
  "t_badtype",
  "t_extra",
  "t_review",
  "t_closed",
  "t_hours",
  "t_open",
];

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let bundle: string;

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  db.sql(
    TABLES.map((t) => `CREATE TABLE ${t} (id int, v text); INSERT INTO ${t} VALUES (1, '${CANARY}');`).join(
      "\n",
    ),
    "ledger",
  );
  bundle = bundleWithLocalRules(RULES);
  gw = await startTestGateway({ pg: db, issuer, policyBundle: bundle });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

async function run(token: string, text: string) {
  const { client } = await wire.login(gw.port, token);
  try {
    const reply = await client.simpleQuery(text);
    const err = reply.find((m) => m.type === "E");
    return {
      bytes: Buffer.from(client.received).toString("latin1"),
      error: err ? wire.fields(err.body) : undefined,
    };
  } finally {
    client.close();
  }
}

const rows = (t: string) => db.sql(`SELECT count(*) FROM ${t}`, "ledger").trim().split("\n").at(-1)!.trim();

describe("malformed local rule output fails closed", () => {
  test("each malformed denial denies with custos.invalid_decision, for agents and humans; no value is returned", async () => {
    for (const token of [await gw.token("agent-1", ["agents"]), await gw.token("alice", ["dba"])]) {
      for (const t of ["t_string", "t_norule", "t_noreason", "t_badtype", "t_extra"]) {
        const r = await run(token, `SELECT v FROM ${t}`);
        expect(r.error?.C, t).toBe("42501");
        expect(r.error?.M, t).toContain("custos.invalid_decision");
        expect(r.bytes, t).not.toContain(CANARY);
      }
    }
  });

  test("a malformed review denies too: the human's write does not run", async () => {
    const r = await run(await gw.token("alice", ["dba"]), "DELETE FROM t_review WHERE id = 1");
    expect(r.error?.M).toContain("custos.invalid_decision");
    expect(rows("t_review")).toBe("1");
  });

  test("well-formed local rules still decide, and untouched tables are readable (the look-alikes)", async () => {
    const human = await gw.token("alice", ["dba"]);
    const closed = await run(human, "SELECT v FROM t_closed");
    expect(closed.error?.M).toContain("this table is closed (rule bank.closed)");
    const open = await run(human, "SELECT v FROM t_open");
    expect(open.error).toBeUndefined();
    expect(open.bytes).toContain(CANARY);
  });
});

describe("a business-hours rule across the boundary", () => {
  test("the bundle's sources mark its decisions hourly; through the gateway the answer matches the current hour", async () => {
    expect(gw.gw.policy.volatility).toEqual({
      uncacheable: null,
      hourly: true,
      perSession: false,
      exactTime: false,
    });
    const hour = new Date().getUTCHours();
    const r = await run(await gw.token("alice", ["dba"]), "SELECT v FROM t_hours");
    if (hour >= 9 && hour < 18) expect(r.error).toBeUndefined();
    else expect(r.error?.M).toContain("bank.after_hours");
  });

  test("with an injected clock the same statement, decided again and again, gives both answers", async () => {
    const engine = new PolicyEngine({ logger: createLogger("error", {}, () => {}) });
    expect((await engine.load(readBundle(readFileSync(bundle)))).ok).toBe(true);
    const classifier = await createSqlClassifier();
    let clock = Date.UTC(2026, 11, 1, 17, 59, 58);
    const decider = createDecider({
      engine,
      classify: (text) => classifier.classify(text),
      logger: createLogger("error", {}, () => {}),
      now: () => clock,
    });
    const ctx = context("human");
    const decide = () =>
      decider.decide(ctx, { protocol: "postgres", text: "SELECT v FROM t_hours" }) as {
        action: string;
        rule: string;
      };
    const first = decide();
    expect(first.action).toBe("allow");
    expect(decide()).toBe(first); // cached within the hour: the hot path is one lookup
    clock += 2_000; // 18:00:00
    expect(decide()).toMatchObject({ action: "deny", rule: "bank.after_hours" });
    clock = Date.UTC(2026, 11, 2, 8, 59, 59);
    expect(decide().action).toBe("deny");
    clock += 1_000; // 09:00:00
    expect(decide().action).toBe("allow");
    // A statement the time rule does not touch is cached across hours alike (and allowed).
    expect(
      (decider.decide(ctx, { protocol: "postgres", text: "SELECT v FROM t_open" }) as { action: string })
        .action,
    ).toBe("allow");
  });

  test("a rule finer than the hour (unix_ms) turns the cache off for its bundle; each decision sees its own time", async () => {
    const fine = bundleWithLocalRules(`package custos.local

deny contains {"rule": "bank.even_seconds", "reason": "even second"} if {
	input.identity.kind == "human"
	(input.time.unix_ms / 1000) % 2 == 0
}
`);
    const engine = new PolicyEngine({ logger: createLogger("error", {}, () => {}) });
    expect((await engine.load(readBundle(readFileSync(fine)))).ok).toBe(true);
    expect(engine.volatility.uncacheable).toContain("input.time.unix_ms");
    const classifier = await createSqlClassifier();
    let clock = Date.UTC(2026, 11, 1, 12, 0, 0);
    const decider = createDecider({
      engine,
      classify: (text) => classifier.classify(text),
      logger: createLogger("error", {}, () => {}),
      now: () => clock,
    });
    const ctx = context("human");
    const decide = () =>
      (decider.decide(ctx, { protocol: "postgres", text: "SELECT 1" }) as { action: string }).action;
    expect(decide()).toBe("deny");
    clock += 1_000;
    expect(decide()).toBe("allow");
    clock += 1_000;
    expect(decide()).toBe("deny");
  });
});
