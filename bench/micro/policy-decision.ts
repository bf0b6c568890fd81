// Policy decision through src/policy/decider.ts with the shipped default pack: cached (a repeated
// statement), and uncached (every statement a new shape: classify + WASM evaluation). bench/policy-decision.ts
// (owned by the policy work) has the fuller breakdown. Run: bun bench/micro/policy-decision.ts
import { do_not_optimize } from "mitata";
import { createLogger } from "../../src/core/log.ts";
import { createDecider } from "../../src/policy/decider.ts";
import { PolicyEngine } from "../../src/policy/engine.ts";
import { shippedBundle } from "../../src/policy/shipped.ts";
import { createSqlClassifier } from "../../src/sql/classifier.ts";
import { context } from "../../test/policy/support.ts";
import { type MicroRow, micro, microTable } from "./measure.ts";

export async function run(): Promise<MicroRow[]> {
  const logger = createLogger("error", {}, () => {});
  const engine = new PolicyEngine({ logger });
  const loaded = await engine.load(await shippedBundle());
  if (!loaded.ok) throw loaded.error;
  const classifier = await createSqlClassifier();
  const decider = createDecider({ engine, classify: (t) => classifier.classify(t), logger });
  const service = context("service");
  const pgbench = { protocol: "postgres", text: "SELECT abalance FROM pgbench_accounts WHERE aid = $1;" };
  let n = 0;
  return [
    await micro("policy decision", "cached: pgbench select (service)", () =>
      do_not_optimize(decider.decide(service, pgbench)),
    ),
    await micro("policy decision", "cached shape, new literal each call (pgbench -M simple)", () => {
      n++;
      do_not_optimize(
        decider.decide(service, {
          protocol: "postgres",
          text: `SELECT abalance FROM pgbench_accounts WHERE aid = ${n % 400_000};`,
        }),
      );
    }),
    await micro("policy decision", "uncached: new shape every call (service)", async () => {
      n++;
      do_not_optimize(
        await decider.decide(service, {
          protocol: "postgres",
          text: `SELECT c${n} FROM t${n} WHERE id = ${n}`,
        }),
      );
    }),
  ];
}

if (import.meta.main) console.log(microTable(await run()));
