// exec through the gateway with real OpenSSH clients against a real sshd, judged by effect on the target:
// a canary file the attacks try to remove or overwrite is read directly, fixture values are counted in
// every byte the client printed, and harmless look-alikes run beside the attacks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withEvents } from "./audit.ts";
import { type SshFixture, startSshFixture, viaGateway } from "./support.ts";

let f: SshFixture;
let human: string;
let agent: string;
let approver: string;
let dir: string;
let canary: string;
const CANARY = "canary: untouched\n";
// Fixture values a masked identity must never see (detectors: SSN, card number, email).
const SSN = "123-45-6789";
const CARD = "4111 1111 1111 1111";
const EMAIL = "ada.lovelace@bank.example";

beforeAll(async () => {
  f = await startSshFixture();
  human = await f.token("dana@bank.example", ["sre"]);
  agent = await f.token("agent-7@bank.example", ["agents"]);
  approver = await f.token("bob@bank.example", ["approvers"]);
  dir = mkdtempSync(join(tmpdir(), "custos-ssh-canary-"));
  canary = join(dir, "canary.txt");
  const lines: string[] = [];
  // Long enough that SSH packets (32 KiB) cut through values.
  for (let i = 0; i < 4000; i++) lines.push(`row ${i} ssn ${SSN} card ${CARD} mail ${EMAIL} ok-${i}`);
  writeFileSync(join(dir, "customers.txt"), `${lines.join("\n")}\n`);
}, 60_000);

afterAll(async () => {
  await f?.stop();
});

const untouched = () => existsSync(canary) && readFileSync(canary, "utf8") === CANARY;

describe("exec", () => {
  test("a human's command runs; output and exit status are relayed", async () => {
    const ok = await viaGateway(f, human, "ssh", ["echo hello; id -un"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`hello\n${f.sshd.user}\n`);
    const failing = await viaGateway(f, human, "ssh", ["echo out; echo err >&2; exit 7"]);
    expect(failing.code).toBe(7);
    expect(failing.stdout).toBe("out\n");
    expect(failing.stderr).toBe("err\n");
    // stdin reaches the command and its EOF ends it.
    const piped = await viaGateway(f, human, "ssh", ["wc -c"], { stdin: "x".repeat(100_000) });
    expect(piped.stdout.trim()).toBe("100000");
  });

  test("a wrong or missing token never reaches the target", async () => {
    writeFileSync(canary, CANARY);
    const bad = await viaGateway(f, `${human}x`, "ssh", [`rm -f ${canary}`]);
    // sshpass exits 5 when the password it typed was refused (255 would be ssh's own failure).
    expect([5, 255]).toContain(bad.code);
    const other = await viaGateway(f, "not-a-token", "ssh", [`rm -f ${canary}`], {
      user: "no-such-connection",
    });
    expect([5, 255]).toContain(other.code);
    expect(untouched()).toBe(true);
  });

  test("an agent's attacks on the canary are refused by effect; look-alikes run", async () => {
    writeFileSync(canary, CANARY);
    const attacks = [
      `cat ${canary}; rm -f ${canary}`,
      `cat ${canary} && rm -f ${canary}`,
      `cat ${canary} || rm -f ${canary}`,
      `cat ${canary} | rm -f ${canary}`,
      `cat ${canary}\nrm -f ${canary}`,
      `cat $(rm -f ${canary})`,
      `cat \`rm -f ${canary}\``,
      `echo "$(rm -f ${canary})"`,
      `echo pwned > ${canary}`,
      `echo pwned >> ${canary}`,
      `cat <(rm -f ${canary})`,
      `{rm,-f,${canary}}`,
      `PATH=/usr/bin rm -f ${canary}`,
      `sh -c 'rm -f ${canary}'`,
      `/bin/sh -c "rm -f ${canary}"`,
      `bash -c "rm -f ${canary}"`,
      `env rm -f ${canary}`,
      `xargs rm -f`,
      `python3 -c "import os; os.remove('${canary}')"`,
      `cat ${dir}/*; rm -f ${canary}`,
      `echo $'\\x3b' rm -f ${canary}`,
      `cat ${canary} & rm -f ${canary}`,
      `cat '${canary}`,
    ];
    for (const attack of attacks) {
      const r = await viaGateway(f, agent, "ssh", [attack], { stdin: canary });
      expect({ attack, code: r.code, refused: /custos: denied by custos\.ssh_/.test(r.stderr) }).toEqual({
        attack,
        code: 126,
        refused: true,
      });
      expect(untouched()).toBe(true);
    }
    // Look-alikes: operators inside quotes are literal text for the shell, and read programs run.
    const quoted = await viaGateway(f, agent, "ssh", [`echo 'a; rm -f ${canary}' "b && c" 'x>y'`]);
    expect(quoted.code).toBe(0);
    expect(quoted.stdout).toBe(`a; rm -f ${canary} b && c x>y\n`);
    const read = await viaGateway(f, agent, "ssh", [`cat ${canary}`]);
    expect(read.stdout).toBe(CANARY);
    const counted = await viaGateway(f, agent, "ssh", [`grep -c untouched ${canary}`]);
    expect(counted.stdout).toBe("1\n");
    expect(untouched()).toBe(true);
  });

  test("an agent's shell is refused", async () => {
    const r = await viaGateway(f, agent, "ssh", ["-tt"], { stdin: `rm -f ${canary}\nexit\n` });
    expect(r.code).not.toBe(0);
    expect(r.all).toMatch(/custos: denied by custos\.ssh_agent_shell/);
    expect(untouched()).toBe(true);
  });

  test("a masked identity's output passes the detectors as a stream, stdout and stderr", async () => {
    const r = await viaGateway(f, agent, "ssh", [`cat ${join(dir, "customers.txt")}`]);
    expect(r.code).toBe(0);
    for (const v of [SSN, CARD, EMAIL, "6789", "ada.lovelace"]) expect(r.all.includes(v)).toBe(false);
    // Everything else arrives, in order.
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.length).toBe(4000);
    expect(lines[3999]).toMatch(/^row 3999 ssn .* ok-3999$/);
    const err = await viaGateway(f, agent, "ssh", [`cat /nonexistent/${SSN}`]);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(/No such file/);
    expect(err.all.includes(SSN)).toBe(false);
    // A human is not masked.
    const plain = await viaGateway(f, human, "ssh", [`head -n 1 ${join(dir, "customers.txt")}`]);
    expect(plain.stdout).toContain(SSN);
  });

  test("a held command waits, is told how to approve, runs once approved from the CLI, and only once", async () => {
    const created = join(dir, "approved-file");
    const run = viaGateway(f, agent, "ssh", [`touch ${created}`], { timeoutMs: 30_000 });
    const id = await waitForRequest(`touch ${created}`);
    expect(existsSync(created)).toBe(false);
    const cli = Bun.spawn(
      [
        "./custos",
        "approve",
        id,
        "--reason",
        "CHG-1 test",
        "--token",
        approver,
        "--gateway",
        `http://127.0.0.1:${f.httpPort}`,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const [cliOut, cliErr, cliCode] = await Promise.all([
      new Response(cli.stdout).text(),
      new Response(cli.stderr).text(),
      cli.exited,
    ]);
    expect({ cliCode, cliErr }).toEqual({ cliCode: 0, cliErr: "" });
    expect(cliOut).toContain(id);
    const r = await run;
    expect(r.stderr).toContain(`request ${id}`);
    expect(r.stderr).toContain("custos approve");
    expect(r.code).toBe(0);
    expect(existsSync(created)).toBe(true);
    // A second execution of the same command is a second request.
    const again = viaGateway(f, agent, "ssh", [`touch ${created}-2`], { timeoutMs: 30_000 });
    const second = await waitForRequest(`touch ${created}-2`);
    expect(second).not.toBe(id);
    const deny = Bun.spawn(
      [
        "./custos",
        "deny",
        second,
        "--reason",
        "no",
        "--token",
        approver,
        "--gateway",
        `http://127.0.0.1:${f.httpPort}`,
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    expect(await deny.exited).toBe(0);
    const denied = await again;
    expect(denied.code).toBe(126);
    expect(existsSync(`${created}-2`)).toBe(false);
  });

  test("every command is audited with its decision and exit status", async () => {
    await withEvents(f, (events) => {
      const statements = events.filter(
        (e) => e.type === "statement" && (e.data as { protocol?: string }).protocol !== "postgres",
      );
      const texts = statements.map((e) => String((e.data as { text?: unknown }).text));
      expect(texts).toContain("echo out; echo err >&2; exit 7");
      const seven = statements.find(
        (e) => (e.data as { text?: unknown }).text === "echo out; echo err >&2; exit 7",
      )!;
      expect((seven.data as { tag?: unknown }).tag).toBe("exit 7");
      expect(JSON.stringify(events)).not.toContain(agent);
    });
  });
});

async function waitForRequest(text: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const pending = await f.gw.approvals.list({ status: "pending" });
    const hit = pending.find((p) => p.statementText === text);
    if (hit) return hit.id;
    await Bun.sleep(50);
  }
  throw new Error(`no pending request for ${text}`);
}
