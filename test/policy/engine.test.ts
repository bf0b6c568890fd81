// The engine and decider fail closed: no bundle, a broken bundle, a malformed decision, a policy that
// throws. Reloads are atomic and drop cached decisions.
import { describe, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createDecider } from "../../src/policy/decider.ts";
import { PolicyEngine } from "../../src/policy/engine.ts";
import { watchBundle } from "../../src/policy/watch.ts";
import { createSqlClassifier } from "../../src/sql/classifier.ts";
import { buildDefaultBundle, buildInlineBundle, context, quietLogger, tempDir } from "./support.ts";

const allowAll = `package custos
decision := {"action": "allow", "reason": "ok", "rule": "test.allow", "mask": [], "record": "buffered"}
`;
const denyAll = `package custos
decision := {"action": "deny", "reason": "no", "rule": "test.deny", "mask": [], "record": "sync"}
`;

async function deciderFor(engine: PolicyEngine) {
  const classifier = await createSqlClassifier();
  return createDecider({ engine, classify: classifier.classify, logger: quietLogger });
}

const agent = context("agent");
const select = { protocol: "postgres", text: "SELECT 1" };

describe("policy engine", () => {
  test("no bundle loaded: every decision is a deny", async () => {
    const engine = new PolicyEngine({ logger: quietLogger });
    const decider = await deciderFor(engine);
    expect(await decider.decide(agent, select)).toMatchObject({ action: "deny", rule: "custos.no_policy" });
    expect(engine.hash).toBeNull();
  });

  test("a broken bundle is refused and the old one stays", async () => {
    const engine = new PolicyEngine({ logger: quietLogger });
    const good = buildInlineBundle(allowAll);
    expect((await engine.load(good)).ok).toBe(true);
    const hash = engine.hash;
    const dir = tempDir();
    const cases: [string, Uint8Array | string][] = [
      ["garbage.tar.gz", "not a bundle"],
      ["truncated.tar.gz", (await Bun.file(good).bytes()).subarray(0, 200)],
      ["empty.tar.gz", Bun.gzipSync(new Uint8Array(1024))],
    ];
    for (const [name, bytes] of cases) {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      const result = await engine.load(path);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.code).toBe("policy.unavailable");
      expect(engine.hash).toBe(hash);
    }
    expect((await engine.load(join(dir, "missing.tar.gz"))).ok).toBe(false);
    expect(engine.evaluate({} as never)).toMatchObject({ action: "allow", rule: "test.allow" });
  });

  test("a bundle without the custos/decision entrypoint is refused", async () => {
    const engine = new PolicyEngine({ logger: quietLogger, entrypoint: "custos/other" });
    const result = await engine.load(buildInlineBundle(allowAll));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain("entrypoint");
  });

  test("malformed decisions are denies with custos.invalid_decision", async () => {
    const malformed = [
      `decision := {"action": "maybe", "reason": "", "rule": "r", "mask": [], "record": "sync"}`,
      `decision := {"action": "allow", "reason": "", "rule": "r", "mask": [], "record": "sometimes"}`,
      `decision := {"action": "allow", "reason": "", "rule": "r", "mask": "none", "record": "sync"}`,
      `decision := {"action": "allow", "reason": "", "rule": "r", "mask": [{"column": "x", "method": "rot13"}], "record": "sync"}`,
      `decision := {"action": "allow", "reason": "", "rule": "r", "mask": [], "record": "sync", "extra": 1}`,
      `decision := {"action": "allow", "reason": "", "mask": [], "record": "sync"}`,
      `decision := "allow"`,
      `decision := true if input.never`,
    ];
    for (const body of malformed) {
      const engine = new PolicyEngine({ logger: quietLogger });
      expect((await engine.load(buildInlineBundle(`package custos\n${body}\n`))).ok).toBe(true);
      const d = await (await deciderFor(engine)).decide(agent, select);
      expect(d).toMatchObject({ action: "deny", rule: "custos.invalid_decision" });
    }
  });

  test("a policy that fails at evaluation is a deny with custos.policy_error", async () => {
    const engine = new PolicyEngine({ logger: quietLogger });
    const conflicting = `package custos
f(x) := 1 if x == 1
f(x) := 2 if x > 0
decision := {"action": "allow", "reason": "", "rule": "r", "mask": [], "record": "sync"} if f(count(input.command.statements)) > 0
`;
    expect((await engine.load(buildInlineBundle(conflicting))).ok).toBe(true);
    const d = await (await deciderFor(engine)).decide(agent, select);
    expect(d).toMatchObject({ action: "deny", rule: "custos.policy_error" });
  });

  test("reload swaps atomically and drops cached decisions", async () => {
    const dir = tempDir();
    const path = join(dir, "bundle.tar.gz");
    const allowPath = buildInlineBundle(allowAll);
    const denyPath = buildInlineBundle(denyAll);
    copyFileSync(allowPath, path);
    const engine = new PolicyEngine({ logger: quietLogger });
    const decider = await deciderFor(engine);
    expect((await engine.load(path)).ok).toBe(true);
    const first = decider.decide(agent, select);
    expect(first).not.toBeInstanceOf(Promise); // synchronous on the hot path
    expect(first).toMatchObject({ action: "allow" });
    expect(decider.decide(agent, select)).toBe(first); // cache hit: the same frozen object
    copyFileSync(denyPath, path);
    const reloaded = await engine.reload();
    expect(reloaded.ok).toBe(true);
    expect(decider.decide(agent, select)).toMatchObject({ action: "deny", rule: "test.deny" });
    writeFileSync(path, "broken");
    expect((await engine.reload()).ok).toBe(false);
    expect(decider.decide(agent, select)).toMatchObject({ action: "deny", rule: "test.deny" });
  });

  test("cached decisions are per identity and per connection", async () => {
    const engine = new PolicyEngine({ logger: quietLogger });
    await engine.load(buildDefaultBundle());
    const decider = await deciderFor(engine);
    const write = { protocol: "postgres", text: "INSERT INTO t VALUES (1)" };
    expect(decider.decide(context("human"), write)).toMatchObject({ action: "allow" });
    expect(decider.decide(context("agent"), write)).toMatchObject({ action: "deny" });
    expect(decider.decide(context("human", ["regulated"]), write)).toMatchObject({ action: "review" });
    // same shape, other literal: served from cache with the same answer
    expect(
      decider.decide(context("agent"), { protocol: "postgres", text: "INSERT INTO t VALUES (2)" }),
    ).toMatchObject({ action: "deny" });
  });

  test("invalidate() drops the decisions an open session has already seen (table labels changed)", async () => {
    const engine = new PolicyEngine({ logger: quietLogger });
    await engine.load(buildDefaultBundle());
    const classifier = await createSqlClassifier();
    let labels: Record<string, string[]> = {};
    const decider = createDecider({
      engine,
      classify: classifier.classify,
      logger: quietLogger,
      tableLabels: () => labels,
    });
    const human = context("human");
    const write = { protocol: "postgres", text: "INSERT INTO accounts VALUES (1)" };
    expect(decider.decide(human, write)).toMatchObject({ action: "allow" });
    expect(decider.decide(human, write)).toMatchObject({ action: "allow" });
    labels = { "public.accounts": ["regulated"] };
    decider.invalidate();
    expect(decider.decide(human, write)).toMatchObject({ action: "review" });
  });

  test("watchBundle reports a replaced bundle file", async () => {
    const dir = tempDir();
    const path = join(dir, "bundle.tar.gz");
    writeFileSync(path, "v1");
    const changed = new Promise<void>((resolve) => {
      const watcher = watchBundle(
        path,
        () => {
          watcher.close();
          resolve();
        },
        20,
      );
    });
    writeFileSync(join(dir, "other-file"), "ignored");
    writeFileSync(`${path}.tmp`, "v2");
    const { renameSync } = await import("node:fs");
    renameSync(`${path}.tmp`, path);
    await changed;
  });
});
