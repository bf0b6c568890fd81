// deploy/custos.example.yaml through the real loader: shape and paths without the secrets (what
// `custos sessions`/`audit verify` do), then with every secret resolved from a temp tree standing in for
// /etc/custos and /run/credentials/custos.service; and every *_env / LoadCredential it needs is provided
// by deploy/systemd/custos.env.example / custos.service.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/load.ts";
import { certificate, DEPLOY, parseUnit, readYamlDocs, scratch, yamlFiles } from "./support.ts";

const EXAMPLE = readFileSync(join(DEPLOY, "custos.example.yaml"), "utf8");
const CREDS = "/run/credentials/custos.service/";
const tree = scratch("custos-deploy-config-");
afterAll(() => rmSync(tree.dir, { recursive: true, force: true }));

/** KEY=VALUE lines of an EnvironmentFile. */
function envFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}
const ENV = envFile(readFileSync(join(DEPLOY, "systemd/custos.env.example"), "utf8"));

/** The example as /etc/custos/custos.yaml in the temp tree: relative paths stay, credentials move. */
async function install(credsDir: string): Promise<string> {
  const ca = await certificate("example-ca");
  tree.write("etc/custos/tls/ledger-db-ca.pem", ca.cert, 0o644);
  tree.write("etc/custos/tls/billing-ca.pem", ca.cert, 0o644);
  return tree.write("etc/custos/custos.yaml", EXAMPLE.replaceAll(CREDS, `${credsDir}/`), 0o644);
}

test("every YAML file under deploy/ parses (all documents, no duplicate keys)", () => {
  const files = yamlFiles();
  expect(files).toContain("deploy/custos.example.yaml");
  expect(files.length).toBeGreaterThanOrEqual(9);
  for (const file of files) expect(readYamlDocs(file).length).toBeGreaterThan(0);
});

test("the example validates without loading secrets, and names no secret inline", async () => {
  const path = await install(join(tree.dir, "no-credentials-here"));
  const config = loadConfig(path, ENV, { secrets: false });
  expect(config.connections.map((c) => c.name)).toEqual(["ledger"]);
  expect(config.httpConnections.map((c) => c.name)).toEqual(["billing"]);
  expect(config.connections[0]!.access).toMatchObject({
    mode: "request",
    approvers: ["ledger-approvers"],
    minApprovals: 2,
  });
  expect(config.connections[0]!.tableLabels["public.accounts"]).toEqual(["regulated", "pii"]);
  expect(config.audit.store.kind).toBe("postgres");
  expect(config.identity.issuers[0]!.issuer).toBe("https://login.example.com/realms/bank");
  expect(config.console.roles.admin).toEqual(["custos-admins"]);
  expect(config.dataDir).toBe("/var/lib/custos");
  expect(config.listen.publicUrl).toBe("https://custos.example.com");
  // Unloaded secrets throw when read: proof they were not needed.
  expect(() => config.connections[0]!.target.password!.reveal()).toThrow("secret not loaded");
  const raw = parse(EXAMPLE) as Record<string, unknown>;
  const text = JSON.stringify(raw);
  expect(text).not.toMatch(/"(password|secret|token|bearer|value|hmac_key|client_secret)"\s*:/);
  expect(text).not.toMatch(/:\/\/[^/"]*:[^/"]*@/);
});

test("with the credentials and env in place every secret resolves", async () => {
  const creds = join(tree.dir, "run/credentials/custos.service");
  const secrets: Record<string, string> = {
    "ledger-db-password": "ledger-Secret-1",
    "billing-api-token": "billing-Secret-2",
    "masking-hmac-key": "masking-Secret-3-0123456789abcdef",
    "approvals-webhook-secret": "webhook-Secret-4",
    "console-client-secret": "console-Secret-5",
  };
  for (const [name, value] of Object.entries(secrets))
    tree.write(`run/credentials/custos.service/${name}`, `${value}\n`, 0o400);
  const path = await install(creds);
  const config = loadConfig(path, ENV);
  expect(config.connections[0]!.target.password!.reveal()).toBe(secrets["ledger-db-password"]!);
  const inject = config.httpConnections[0]!.inject;
  expect(inject?.kind === "bearer" && inject.token.reveal()).toBe(secrets["billing-api-token"]!);
  expect(config.masking.hmacKey!.reveal()).toBe(secrets["masking-hmac-key"]!);
  expect(config.approvals.webhook!.secret.reveal()).toBe(secrets["approvals-webhook-secret"]!);
  expect(config.console.oidc!.clientSecret!.reveal()).toBe(secrets["console-client-secret"]!);
  expect(config.audit.store.kind === "postgres" && config.audit.store.url.reveal()).toBe(
    ENV.CUSTOS_AUDIT_URL!,
  );
  expect(config.tls!.keyFile).toBe(join(creds, "gateway-tls-key"));
  // A missing credential is the loader's clear error, naming the key.
  rmSync(join(creds, "billing-api-token"));
  expect(() => loadConfig(path, ENV)).toThrow("connections[1].inject.bearer_file: cannot read");
});

test("every credential the example reads is a LoadCredential of the unit, and every *_env is in the env file", () => {
  const unit = parseUnit(readFileSync(join(DEPLOY, "systemd/custos.service"), "utf8"));
  const loaded = (unit.get("Service")?.get("LoadCredential") ?? []).map((v) => v.split(":")[0]);
  const used = [...EXAMPLE.matchAll(/\/run\/credentials\/custos\.service\/([A-Za-z0-9_.-]+)/g)].map(
    (m) => m[1],
  );
  expect(used.length).toBe(6);
  expect(loaded.sort()).toEqual([...new Set(used)].sort());
  const envNames = [...EXAMPLE.matchAll(/^\s*\w+_env:\s*(\w+)/gm)].map((m) => m[1]!);
  expect(envNames).toEqual(["CUSTOS_AUDIT_URL"]);
  for (const name of envNames) expect(ENV[name]).toBeDefined();
});
