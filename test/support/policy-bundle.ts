// The default policy pack compiled once per test process (opa build is ~1 s), shared by end-to-end tests.
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBundle, DEFAULT_POLICY_DIR } from "../../src/policy/opa.ts";

let built: Promise<string> | undefined;

export function defaultBundle(): Promise<string> {
  built ??= Promise.resolve().then(() =>
    buildBundle(DEFAULT_POLICY_DIR, join(mkdtempSync(join(tmpdir(), "custos-bundle-")), "bundle.tar.gz")),
  );
  return built;
}

/**
 * The default pack plus institution rules (package custos.local, as policy/README.md describes them),
 * compiled into a fresh temp file: `rules` is the text of policy/local/rules.rego.
 */
export function bundleWithLocalRules(rules: string): string {
  const dir = mkdtempSync(join(tmpdir(), "custos-pack-"));
  cpSync(join(DEFAULT_POLICY_DIR, "custos"), join(dir, "custos"), { recursive: true });
  mkdirSync(join(dir, "local"));
  writeFileSync(join(dir, "local", "rules.rego"), rules);
  return buildBundle(dir, join(dir, "build", "bundle.tar.gz"));
}
