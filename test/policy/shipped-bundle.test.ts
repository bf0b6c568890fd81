// The committed default pack (policy/dist/default-bundle.tar.gz, what `./custos serve` and `./custos demo`
// load on a fresh clone without OPA) must be the build of today's policy/ sources. Rebuilt with the real
// opa and compared on what decides: the compiled policy.wasm, data.json, the manifest and the Rego sources
// it carries, byte for byte; not the tar and gzip timestamps.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { readBundle, untar } from "../../src/policy/bundle.ts";
import { PolicyEngine } from "../../src/policy/engine.ts";
import { buildPolicyInput } from "../../src/policy/input.ts";
import { buildBundle, DEFAULT_POLICY_DIR, PROJECT_ROOT } from "../../src/policy/opa.ts";
import { SHIPPED_BUNDLE, shippedBundle } from "../../src/policy/shipped.ts";
import { createSqlClassifier } from "../../src/sql/classifier.ts";
import { context, quietLogger, tempDir } from "./support.ts";

const REFRESH = "out of step with policy/: run ./custos policy build --dist and commit policy/dist";

function contents(path: string): Map<string, Uint8Array> {
  return untar(gunzipSync(readFileSync(path)));
}

describe("shipped default bundle", () => {
  test("is the build of the current policy/ sources", async () => {
    expect(await shippedBundle()).toBe(SHIPPED_BUNDLE);
    const shipped = contents(SHIPPED_BUNDLE);
    const rebuilt = contents(buildBundle(DEFAULT_POLICY_DIR, join(tempDir(), "bundle.tar.gz")));
    const names = (m: Map<string, Uint8Array>) => [...m.keys()].sort();
    expect(names(shipped), REFRESH).toEqual(names(rebuilt));
    for (const name of ["policy.wasm", "data.json"])
      expect(rebuilt.get(name)?.length ?? 0).toBeGreaterThan(0);
    for (const name of names(rebuilt)) {
      // Rego sources are stored relative to policy/ (as opa normalizes them), so this holds in any checkout.
      if (name.endsWith(".rego")) expect(name.startsWith("custos/"), name).toBe(true);
      const same = Buffer.from(shipped.get(name) ?? []).equals(Buffer.from(rebuilt.get(name)!));
      expect(same, `${name} ${REFRESH}`).toBe(true);
    }
  });

  test("loads and decides: an agent's read is allowed, its DROP denied", async () => {
    const engine = new PolicyEngine({ logger: quietLogger });
    const bundle = readBundle(readFileSync(SHIPPED_BUNDLE));
    expect((await engine.load(bundle)).ok).toBe(true);
    const classifier = await createSqlClassifier();
    const decide = (sql: string) =>
      engine.evaluate(
        buildPolicyInput(
          context("agent"),
          { protocol: "postgres", text: sql },
          classifier.classify(sql).statements,
          undefined,
        ),
      );
    expect(decide("SELECT ssn FROM accounts")).toMatchObject({ action: "allow", rule: "custos.agent_read" });
    expect(decide("SELECT customer_ssn FROM accounts").mask).toContainEqual({
      column: "customer_ssn",
      method: "partial",
    });
    expect(decide("DROP TABLE accounts")).toMatchObject({ action: "deny", rule: "custos.agent_ddl" });
  });

  test("`custos policy build --dist` targets policy/dist and refuses a DIR or --output beside it", async () => {
    const cli = (args: string[]) =>
      Bun.spawn([process.execPath, join(PROJECT_ROOT, "src/cli/main.ts"), "policy", "build", ...args], {
        stdout: "pipe",
        stderr: "pipe",
      });
    const bad = cli(["--dist", "--output", "/tmp/x.tar.gz"]);
    expect(await bad.exited).toBe(2);
    expect(await new Response(bad.stderr).text()).toContain("--dist builds policy/ into policy/dist");
    const help = cli(["--help"]);
    await help.exited;
    const usage = (await new Response(help.stdout).text()) + (await new Response(help.stderr).text());
    expect(usage).toContain("--dist refreshes the shipped default pack");
  });
});
