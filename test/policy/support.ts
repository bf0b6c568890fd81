// Builds policy bundles with the real opa for the policy tests, and a decider around the real classifier.

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Identity, IdentityKind } from "../../src/core/identity.ts";
import { createLogger, type Logger } from "../../src/core/log.ts";
import { createDecider, type Decider } from "../../src/policy/decider.ts";
import { PolicyEngine } from "../../src/policy/engine.ts";
import type { DecisionContext, TableLabels } from "../../src/policy/input.ts";
import { buildBundle, DEFAULT_POLICY_DIR } from "../../src/policy/opa.ts";
import { createSqlClassifier } from "../../src/sql/classifier.ts";

export const quietLogger: Logger = createLogger("error", {}, () => {});

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "custos-policy-"));
}

/** Builds the default pack into a fresh temp file. */
export function buildDefaultBundle(): string {
  return buildBundle(DEFAULT_POLICY_DIR, join(tempDir(), "bundle.tar.gz"));
}

/** Builds a bundle from Rego source given inline (package custos). */
export function buildInlineBundle(rego: string, out = join(tempDir(), "bundle.tar.gz")): string {
  const dir = tempDir();
  mkdirSync(join(dir, "custos"));
  writeFileSync(join(dir, "custos", "policy.rego"), rego);
  return buildBundle(dir, out);
}

export function context(kind: IdentityKind, labels: string[] = [], groups: string[] = []): DecisionContext {
  const identity: Identity = {
    subject: `${kind}-1`,
    issuer: "https://idp.test",
    groups,
    kind,
    method: "oidc",
    expiresAt: Date.now() + 60_000,
    context: {},
  };
  return {
    identity,
    connection: { name: "ledger", type: "postgres", labels, target: {} },
    session: { id: "s-1", clientAddr: "127.0.0.1:5000", startedAt: Date.now() },
  };
}

export async function defaultDecider(
  bundle: string,
  tableLabels: TableLabels = { "public.accounts": ["regulated"] },
  approvers: readonly string[] = [],
): Promise<{ engine: PolicyEngine; decider: Decider }> {
  const engine = new PolicyEngine({ logger: quietLogger });
  const loaded = await engine.load(bundle);
  if (!loaded.ok) throw loaded.error;
  const classifier = await createSqlClassifier();
  const decider = createDecider({
    engine,
    classify: classifier.classify,
    logger: quietLogger,
    tableLabels: () => tableLabels,
    approvers: () => approvers,
  });
  return { engine, decider };
}
