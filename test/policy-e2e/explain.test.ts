// `custos policy explain SEQ` on decisions a real gateway logged for psql: the statement event names the
// input's digest and the bundle, the policy.input event holds the input (no token, no target password),
// and the CLI evaluates it again and lists the rules that fired in the pack's order, local rules included.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
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
let agentToken: string;
let statements: StoredEvent[];

// A local rule named to sort before custos.*, at the pack's write priority (50 by default).
const LOCAL = `package custos.local

deny contains {"rule": "bank.no_writes_to_t", "reason": "t is frozen"} if {
\tsome s in input.command.statements
\t"public.t" in s.tables_written
}
`;

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  db.sql("CREATE TABLE t (id int primary key, note text)", "ledger");
  bundle = bundleWithLocalRules(LOCAL);
  gw = await startTestGateway({ pg: db, issuer, policyBundle: bundle });
  configFile = join(gw.dataDir, "cli.yaml");
  writeFileSync(configFile, `data_dir: ${JSON.stringify(gw.dataDir)}\n`);
  agentToken = await gw.token("agent-explained", ["agents"]);
  const r = await psql(
    gw.url(agentToken),
    ["-X", "-v", "ON_ERROR_STOP=0"],
    "SELECT 1;\nINSERT INTO t VALUES (1, 'a');\nDELETE FROM t;\nSELECT 1;\n",
  );
  expect(r.code).toBe(0);
  // The same shape again in a new session.
  await psql(gw.url(agentToken), ["-X", "-c", "INSERT INTO t VALUES (2, 'b')"]);
  await waitForEvent(gw, (e) => e.type === "statement" && String(e.data.text).includes("(2, 'b')"), 10_000);
  statements = await withStore(gw, async (s) => (await allEvents(s)).filter((e) => e.type === "statement"));
}, 90_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

function explain(seq: number, json = true) {
  const p = Bun.spawnSync(
    [
      process.execPath,
      join(ROOT, "src/cli/main.ts"),
      "policy",
      "explain",
      String(seq),
      "--config",
      configFile,
      "--bundle",
      bundle,
      ...(json ? ["--json"] : []),
    ],
    { cwd: ROOT },
  );
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

const seqOf = (text: string) => statements.find((e) => String(e.data.text).includes(text))!.seq;

describe("policy explain", () => {
  test("each statement event keeps the input digest and bundle; the input event holds no secret", async () => {
    for (const e of statements) {
      expect(e.data.input_digest).toMatch(/^[0-9a-f]{64}$/);
      expect(e.data.bundle).toMatch(/^[0-9a-f]{64}$/);
    }
    const inputs = await withStore(gw, async (s) =>
      (await allEvents(s)).filter((e) => e.type === "policy.input"),
    );
    // One input per evaluation, not per statement: the repeated SELECT, decided from the cache, added none.
    const digests = new Set(statements.map((e) => e.data.input_digest));
    expect(inputs.length).toBe(digests.size);
    expect(new Set(inputs.map((e) => e.data.digest))).toEqual(digests);
    const selects = statements.filter((e) => e.data.text === "SELECT 1;");
    expect(selects.length).toBe(2);
    expect(selects[1]!.data.input_digest).toBe(selects[0]!.data.input_digest);
    for (const e of inputs) {
      const text = String(e.data.input);
      expect(text).not.toContain(agentToken);
      expect(text).not.toContain(db.roles.scram.password);
    }
  });

  test("a denial: re-evaluated to the same decision, with every rule that fired in the pack's order", () => {
    const r = explain(seqOf("DELETE FROM t"));
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.same).toBe(true);
    expect(out.logged.rule).toBe("custos.agent_write");
    expect(out.reevaluated.rule).toBe("custos.agent_write");
    const fired = (out.fired.denials as { rule: string }[]).map((d) => d.rule).sort();
    expect(fired).toEqual(["bank.no_writes_to_t", "custos.agent_write", "custos.unbounded_write"]);
    expect(out.input.identity).toMatchObject({ subject: "agent-explained", kind: "agent" });
    // Readable form: the pack's rule (50) before the local one of equal priority, then unbounded (70).
    const text = explain(seqOf("DELETE FROM t"), false).stdout;
    const lines = text.split("\n").filter((l) => /^\s+deny\s/.test(l) && !l.includes("catch-all"));
    expect(lines.map((l) => l.trim().split(/\s+/)[2])).toEqual([
      "custos.agent_write",
      "bank.no_writes_to_t",
      "custos.unbounded_write",
    ]);
    expect(text).toContain("the same decision as logged");
  });

  test("an allowed read and a cached decision are explained too", () => {
    const read = JSON.parse(explain(seqOf("SELECT 1")).stdout);
    expect(read).toMatchObject({ same: true, logged: { action: "allow", rule: "custos.agent_read" } });
    expect(read.fired.denials).toEqual([]);
    const cached = JSON.parse(explain(statements.filter((e) => e.data.text === "SELECT 1;")[1]!.seq).stdout);
    expect(cached.same).toBe(true);
    const other = JSON.parse(explain(seqOf("(2, 'b')")).stdout);
    expect(other).toMatchObject({ same: true, logged: { rule: "custos.agent_write" } });
  });

  test("a seq that is not a statement, and a missing bundle, are clear errors", () => {
    const notStatement = Bun.spawnSync(
      [process.execPath, join(ROOT, "src/cli/main.ts"), "policy", "explain", "0", "--config", configFile],
      { cwd: ROOT },
    );
    expect(notStatement.exitCode).toBe(1);
    expect(notStatement.stderr.toString()).toContain("not a statement");
    // Without --bundle, the test's temporary bundle is none of the known places.
    const noBundle = Bun.spawnSync(
      [
        process.execPath,
        join(ROOT, "src/cli/main.ts"),
        "policy",
        "explain",
        String(seqOf("SELECT 1")),
        "--config",
        configFile,
      ],
      { cwd: ROOT },
    );
    expect(noBundle.exitCode).toBe(1);
    expect(noBundle.stderr.toString()).toContain("pass it with --bundle FILE");
  });
});

describe("metrics", () => {
  test("denials by rule, the bundle in force, reloads by result, pending approvals and decision latency", async () => {
    expect(await gw.gw.reloadPolicy()).toBe(true);
    const text = await (await fetch(`http://127.0.0.1:${gw.httpPort}/metrics`)).text();
    const value = (line: string) =>
      Number(
        text
          .split("\n")
          .find((l) => l.startsWith(`${line} `))
          ?.split(" ")[1],
      );
    expect(value('custos_denials_total{rule="custos.agent_write"}')).toBeGreaterThanOrEqual(3);
    expect(value(`custos_policy_info{hash="${gw.gw.policy.hash}"}`)).toBe(1);
    expect(value('custos_policy_reloads_total{result="success"}')).toBe(1);
    expect(value('custos_policy_reloads_total{result="refused"}')).toBe(0);
    expect(value("custos_approvals_pending")).toBe(0);
    // One observation per command decided, each well under the last finite bucket.
    expect(value("custos_decision_seconds_count")).toBeGreaterThanOrEqual(5);
    expect(value('custos_decision_seconds_bucket{le="0.1"}')).toBe(value("custos_decision_seconds_count"));
  });
});

describe("the CLI on the same log", () => {
  const run = (...args: string[]) => {
    const p = Bun.spawnSync([process.execPath, join(ROOT, "src/cli/main.ts"), ...args], { cwd: ROOT });
    return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  };

  test("sessions list takes the API's filters; --json has the API's names and ISO times", () => {
    const all = JSON.parse(run("sessions", "list", "--config", configFile, "--json").stdout);
    expect(all.items.length).toBe(2);
    const denied = JSON.parse(
      run("sessions", "list", "--config", configFile, "--json", "--flag", "denials", "--text", "delete from")
        .stdout,
    );
    expect(denied.items.length).toBe(1);
    const s = denied.items[0];
    expect(s).toMatchObject({
      subject: "agent-explained",
      kind: "agent",
      outcome: "client",
      integrity: "ok",
    });
    expect(s.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Object.keys(s)).toContain("end_reason");
    expect(
      JSON.parse(run("sessions", "list", "--config", configFile, "--json", "--subject", "nobody").stdout)
        .items,
    ).toEqual([]);
    expect(run("sessions", "list", "--config", configFile, "--outcome", "won").code).toBe(2);
    const show = JSON.parse(run("sessions", "show", s.id, "--config", configFile, "--json").stdout);
    expect(show.session.id).toBe(s.id);
    const stmt = show.events.find((e: { type: string }) => e.type === "statement");
    expect(stmt).toMatchObject({ log_id: expect.any(String), seq: expect.any(Number) });
    expect(stmt.time).toMatch(/Z$/);
  });

  test("`custos sessions` lists its subcommands; completion scripts name every command", () => {
    const bare = run("sessions");
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain("sessions list");
    expect(bare.stdout).toContain("sessions show");
    const bash = run("completion", "bash").stdout;
    const complete = Bun.spawnSync(
      [
        "bash",
        "-c",
        `${bash}\nCOMP_WORDS=(custos policy ex); COMP_CWORD=2; _custos; echo "\${COMPREPLY[@]}"\nCOMP_WORDS=(custos sessions list --fl); COMP_CWORD=3; _custos; echo "\${COMPREPLY[@]}"`,
      ],
      { stdout: "pipe" },
    );
    expect(complete.stdout.toString().trim().split("\n")).toEqual(["explain", "--flag"]);
    expect(run("completion", "zsh").stdout).toContain("bashcompinit");
    expect(run("completion", "fish").code).toBe(2);
  });
});
