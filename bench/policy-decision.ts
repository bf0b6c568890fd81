// Policy decision latency: cached (repeated statement), same shape with new literals, uncached (new
// shape: normalize + parse + walk + WASM evaluation), the WASM evaluation alone, and the parser alone.
// Run: bun bench/policy-decision.ts (builds the default pack with the real opa first).

import { parseSync } from "libpg-query";
import { bench, do_not_optimize, run } from "mitata";
import { createLogger } from "../src/core/log.ts";
import { createDecider } from "../src/policy/decider.ts";
import { PolicyEngine } from "../src/policy/engine.ts";
import { buildPolicyInput } from "../src/policy/input.ts";
import { buildBundle, DEFAULT_POLICY_DIR } from "../src/policy/opa.ts";
import { createSqlClassifier } from "../src/sql/classifier.ts";
import { context } from "../test/policy/support.ts";

const logger = createLogger("error");
const bundle = buildBundle(DEFAULT_POLICY_DIR, `/tmp/custos-bench-bundle-${process.pid}.tar.gz`);
const engine = new PolicyEngine({ logger });
const loaded = await engine.load(bundle);
if (!loaded.ok) throw loaded.error;
const classifier = await createSqlClassifier({ maxEntries: 4096 });
const decider = createDecider({ engine, classify: classifier.classify, logger, maxEntries: 4096 });
const agent = context("agent");
const simple = "SELECT id, name, email FROM accounts WHERE id = 42";
const join3 =
  "SELECT a.id, o.total, i.sku FROM accounts a JOIN orders o ON o.account_id = a.id JOIN items i ON i.order_id = o.id WHERE a.id = 7 AND o.created_at > now() - interval '1 day'";

let n = 0;
bench("decision, cached (repeated statement)", () => {
  do_not_optimize(decider.decide(agent, { protocol: "postgres", text: simple }));
});
bench("decision, same shape, new literal", () => {
  do_not_optimize(
    decider.decide(agent, {
      protocol: "postgres",
      text: `SELECT id, name, email FROM accounts WHERE id = ${n++}`,
    }),
  );
});
bench("decision, uncached simple SELECT (new shape)", () => {
  do_not_optimize(
    decider.decide(agent, {
      protocol: "postgres",
      text: `SELECT id, name, email FROM accounts a${n++} WHERE id = 42`,
    }),
  );
});
bench("decision, uncached 3-way join (new shape)", () => {
  do_not_optimize(decider.decide(agent, { protocol: "postgres", text: `${join3} AND i.n${n++} = 1` }));
});
const input = buildPolicyInput(
  agent,
  { protocol: "postgres", text: simple },
  classifier.classify(simple).statements,
  undefined,
);
bench("WASM evaluation alone", () => {
  do_not_optimize(engine.evaluate(input));
});
bench("parser alone, simple SELECT", () => {
  do_not_optimize(parseSync(simple));
});
bench("parser alone, 3-way join", () => {
  do_not_optimize(parseSync(join3));
});

const result = await run({ format: "quiet" });
const rows: string[] = ["| case | p50 | p99 | avg |", "|---|---|---|---|"];
const us = (ns: number) => `${(ns / 1000).toFixed(2)} µs`;
for (const b of result.benchmarks) {
  const stats = b.runs[0]?.stats;
  if (!stats) continue;
  rows.push(`| ${b.alias} | ${us(stats.p50)} | ${us(stats.p99)} | ${us(stats.avg)} |`);
}
console.log(rows.join("\n"));
