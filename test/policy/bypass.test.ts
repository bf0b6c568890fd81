// Every attempt in the bypass corpus is denied for an agent, through the compiled WASM default pack.
import { beforeAll, describe, expect, test } from "bun:test";
import type { Decider } from "../../src/policy/decider.ts";
import { BYPASS_CORPUS } from "./bypass-corpus.ts";
import { buildDefaultBundle, context, defaultDecider } from "./support.ts";

let decider: Decider;
beforeAll(async () => {
  ({ decider } = await defaultDecider(buildDefaultBundle()));
});

describe("bypass corpus", () => {
  const agent = context("agent");
  for (const { sql, trick } of BYPASS_CORPUS) {
    test(`${trick}: ${sql.replace(/\n/g, " ")}`, async () => {
      const decision = await decider.decide(agent, { protocol: "postgres", text: sql });
      expect(decision.action).toBe("deny");
      expect(decision.rule).not.toBe("custos.no_policy");
    });
  }

  test("the corpus is not denying everything: plain reads pass", async () => {
    for (const sql of [
      "SELECT * FROM accounts WHERE id = 1",
      'select count(*) from "public"."accounts"',
      "BEGIN; SELECT 1; COMMIT",
    ]) {
      expect((await decider.decide(agent, { protocol: "postgres", text: sql })).action).toBe("allow");
    }
  });
});
