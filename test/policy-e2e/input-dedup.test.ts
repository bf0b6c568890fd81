// With the decision cache off (a local rule reads the statement's literal text), every statement is
// evaluated again; its input is logged once per session (first occurrence), later decisions name the same
// digest, and `custos policy explain SEQ` still explains each of them. A real gateway, psql, the store.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredEvent } from "../../src/audit/store.ts";
import { allEvents, waitForEvent, withStore } from "../support/audit-read.ts";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { bundleWithLocalRules } from "../support/policy-bundle.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

const ROOT = join(import.meta.dir, "../..");
let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let bundle: string;
let configFile: string;
let events: StoredEvent[];

// Reads the text with its literals: the decision cache is off for this bundle, the time is not read.
const LOCAL = `package custos.local

deny contains {"rule": "bank.no_marker", "reason": "the marker is refused"} if {
\tcontains(input.command.text, "forbidden_marker")
}
`;

const SESSION_1 =
  "SELECT 1;\nSELECT 1;\nSELECT 1;\nSELECT 1;\nSELECT 1;\nSELECT 2;\nSELECT 'forbidden_marker';\nSELECT 'forbidden_marker';\n";

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  bundle = bundleWithLocalRules(LOCAL);
  gw = await startTestGateway({ pg: db, issuer, policyBundle: bundle });
  configFile = join(gw.dataDir, "cli.yaml");
  writeFileSync(configFile, `data_dir: ${JSON.stringify(gw.dataDir)}\n`);
  const url = gw.url(await gw.token("dana", ["dba"]));
  expect((await psql(url, ["-X", "-v", "ON_ERROR_STOP=0"], SESSION_1)).code).toBe(0);
  expect((await psql(url, ["-X", "-c", "SELECT 1"])).code).toBe(0);
  await waitForEvent(gw, (e) => e.type === "statement" && e.data.text === "SELECT 1", 10_000);
  events = await withStore(gw, allEvents);
}, 90_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

const ofSession = (id: string | undefined, type: string) =>
  events.filter((e) => e.sessionId === id && e.type === type);

test("the cache is off for the bundle, and the time is not read: inputs repeat", () => {
  expect(gw.gw.policy.volatility.uncacheable).toContain("input.command.text");
  expect(gw.gw.policy.volatility.exactTime).toBe(false);
});

test("one policy.input per distinct input and session, not one per decision", () => {
  const first = events.find((e) => e.type === "statement" && e.data.text === "SELECT 1;")!.sessionId;
  const statements = ofSession(first, "statement");
  expect(statements.length).toBe(8);
  const inputs = ofSession(first, "policy.input");
  // SELECT 1 (five times), SELECT 2, the marker (twice): three inputs, where each decision logged one before.
  expect(inputs.length).toBe(3);
  expect(new Set(inputs.map((e) => e.data.digest)).size).toBe(3);
  const logged = new Set(inputs.map((e) => e.data.digest));
  for (const s of statements) expect(logged.has(s.data.input_digest)).toBe(true);
  const ones = statements.filter((e) => e.data.text === "SELECT 1;");
  expect(new Set(ones.map((e) => e.data.input_digest)).size).toBe(1);
  // The marker was decided by the rule reading the text each time.
  const marked = statements.filter((e) => String(e.data.text).includes("forbidden_marker"));
  expect(marked.map((e) => e.data.rule)).toEqual(["bank.no_marker", "bank.no_marker"]);
  // The other session logs its own first occurrence: explain finds inputs within the statement's session.
  const second = events.find((e) => e.type === "statement" && e.data.text === "SELECT 1")!.sessionId;
  expect(second).not.toBe(first);
  expect(ofSession(second, "policy.input").length).toBe(1);
});

test("policy explain explains a later decision through the first occurrence's input", () => {
  const first = events.find((e) => e.type === "statement" && e.data.text === "SELECT 1;")!.sessionId;
  const statements = ofSession(first, "statement");
  const fifth = statements.filter((e) => e.data.text === "SELECT 1;")[4]!;
  const lastMarker = statements.filter((e) => String(e.data.text).includes("forbidden_marker"))[1]!;
  for (const [e, rule] of [
    [fifth, "custos.allow"],
    [lastMarker, "bank.no_marker"],
  ] as const) {
    const p = Bun.spawnSync(
      [
        process.execPath,
        join(ROOT, "src/cli/main.ts"),
        "policy",
        "explain",
        String(e.seq),
        "--config",
        configFile,
        "--bundle",
        bundle,
        "--json",
      ],
      { cwd: ROOT },
    );
    expect(p.exitCode).toBe(0);
    const out = JSON.parse(p.stdout.toString());
    expect(out.same).toBe(true);
    expect(out.reevaluated.rule).toBe(e.data.rule as string);
    expect(e.data.rule).toBe(rule);
  }
});
