// The policy author's commands, run as a user would (the real CLI, the pinned opa): eval builds the gateway's
// input from a config (connection and table labels, approvers), classify prints the classifier's view,
// fmt and check use opa's formatter and strict checker, test --coverage reports what the tests reach.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const BUNDLE = join(ROOT, "policy/dist/default-bundle.tar.gz");
let dir: string;
let config: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "custos-author-"));
  config = join(dir, "custos.yaml");
  writeFileSync(
    config,
    `data_dir: ${JSON.stringify(join(dir, "data"))}
identity: {agent_groups: [agents]}
connections:
  - name: ledger
    type: postgres
    target: {host: 127.0.0.1, port: 5432, database: ledger, user: u, password_env: UNSET_PASSWORD, tls: disable}
    allow_groups: [agents, dba]
    approvers: [leads]
    table_labels: {public.payments: [regulated]}
  - name: plain
    type: postgres
    target: {host: 127.0.0.1, port: 5432, database: ledger, user: u, password_env: UNSET_PASSWORD, tls: disable}
    allow_groups: [agents, dba]
`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const p = Bun.spawnSync([process.execPath, join(ROOT, "src/cli/main.ts"), ...args], { cwd: ROOT });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

const evalSql = (connection: string, groups: string, sql: string, ...extra: string[]) => {
  const r = cli(
    "policy",
    "eval",
    "--config",
    config,
    "--connection",
    connection,
    "--groups",
    groups,
    "--sql",
    sql,
    "--bundle",
    BUNDLE,
    ...extra,
  );
  expect(r.stderr).toBe("");
  return r;
};

describe("policy eval --config", () => {
  test("builds the gateway's input: approvers make an agent's bounded write a review, table labels a human's", () => {
    const agent = JSON.parse(evalSql("ledger", "agents", "INSERT INTO payments VALUES (1)").stdout);
    expect(agent).toMatchObject({ action: "review", rule: "custos.agent_write_review" });
    // The same statement where nobody can approve: refused.
    expect(JSON.parse(evalSql("plain", "agents", "INSERT INTO payments VALUES (1)").stdout)).toMatchObject({
      action: "deny",
      rule: "custos.agent_write",
    });
    const human = JSON.parse(evalSql("ledger", "dba", "UPDATE payments SET a = 1 WHERE id = 2").stdout);
    expect(human).toMatchObject({ action: "review", rule: "custos.regulated_write" });
    expect(
      JSON.parse(evalSql("plain", "dba", "UPDATE payments SET a = 1 WHERE id = 2").stdout),
    ).toMatchObject({
      action: "allow",
    });
    // --identity-kind overrides the kind the groups give.
    const service = JSON.parse(
      evalSql("plain", "dba", "DELETE FROM payments", "--identity-kind", "service").stdout,
    );
    expect(service).toMatchObject({ action: "deny", rule: "custos.unbounded_write" });
  });

  test("--show-input prints the input with connection and table labels", () => {
    const r = evalSql("ledger", "agents", "SELECT a FROM payments WHERE id = 1", "--show-input");
    const input = JSON.parse(r.stdout.slice(0, r.stdout.indexOf("\n}\n") + 2));
    expect(input.connection).toMatchObject({ name: "ledger", approvers: ["leads"] });
    expect(input.identity.kind).toBe("agent");
    expect(input.command.statements[0].table_labels).toEqual({ "public.payments": ["regulated"] });
  });

  test("bad arguments are clear errors", () => {
    expect(
      cli("policy", "eval", "--config", config, "--connection", "nope", "--sql", "select 1").stderr,
    ).toContain("no PostgreSQL connection nope");
    expect(
      cli(
        "policy",
        "eval",
        "--config",
        config,
        "--connection",
        "ledger",
        "--identity-kind",
        "robot",
        "--sql",
        "select 1",
      ).stderr,
    ).toContain("--identity-kind must be");
    expect(cli("policy", "eval").code).toBe(2);
  });
});

test("policy classify prints the statements the rules see, with table labels", () => {
  const r = cli("policy", "classify", "DELETE FROM payments", "--config", config, "--connection", "ledger");
  expect(r.code).toBe(0);
  const [s] = JSON.parse(r.stdout);
  expect(s).toMatchObject({
    kind: "delete",
    has_where: false,
    dml: ["delete"],
    tables_written: ["public.payments"],
  });
  expect(s.table_labels).toEqual({ "public.payments": ["regulated"] });
  const bad = cli("policy", "classify", "SELEC 1");
  expect(bad.code).toBe(1);
  expect(JSON.parse(bad.stdout).rule).toBe("custos.unparseable");
});

describe("opa fmt, check --strict and test --coverage", () => {
  test("fmt lists a file out of form, --write fixes it; check --strict refuses an unused variable", () => {
    const pack = join(dir, "pack");
    mkdirSync(join(pack, "local"), { recursive: true });
    const file = join(pack, "local", "rules.rego");
    writeFileSync(
      file,
      'package custos.local\ndeny contains {"rule": "bank.x", "reason": "r"} if {   input.identity.kind == "agent" }\n',
    );
    const listed = cli("policy", "fmt", pack);
    expect(listed.code).toBe(1);
    expect(listed.stdout).toContain("rules.rego");
    expect(cli("policy", "fmt", pack, "--write").code).toBe(0);
    expect(cli("policy", "fmt", pack).code).toBe(0);
    expect(readFileSync(file, "utf8")).toContain('if input.identity.kind == "agent"\n');
    expect(cli("policy", "check", pack).code).toBe(0);
    writeFileSync(
      file,
      'package custos.local\n\ndeny contains {"rule": "bank.x", "reason": "r"} if {\n\tunused := 1\n\tinput.identity.kind == "agent"\n}\n',
    );
    const strict = cli("policy", "check", pack);
    expect(strict.code).toBe(1);
    expect(strict.stdout + strict.stderr).toContain("unused");
  });

  test("the shipped pack itself passes strict check and is formatted as opa fmt writes it", () => {
    const check = cli("policy", "check");
    expect(check.stdout + check.stderr).toContain("no problem");
    expect(check.code).toBe(0);
    expect(cli("policy", "fmt").code).toBe(0);
  });

  test("test --coverage reports each rule file and the whole", () => {
    const r = cli("policy", "test", "--coverage");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^custos\/decision\.rego\s+\d+\.\d%/m);
    expect(r.stdout).toMatch(/^all\s+\d+\.\d%$/m);
    expect(r.stdout).not.toContain("_test.rego");
    const json = JSON.parse(cli("policy", "test", "--coverage", "--json").stdout);
    expect(json.coverage).toBeGreaterThan(90);
  });
});
