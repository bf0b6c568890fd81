// The default policy pack compiled once per test process (opa build is ~1 s), shared by end-to-end tests.
import { mkdtempSync } from "node:fs";
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
