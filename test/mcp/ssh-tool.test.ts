// `<conn>__exec` end to end: the official TypeScript SDK client at /mcp, a real sshd behind the gateway's
// SSH connection. Each call goes through the SSH listener on loopback with the caller's own token, so it is
// judged by effect like a native exec: a canary file the attacks try to remove is read directly, fixture
// values are counted in every byte the MCP client received, look-alikes run, a held command is approved
// from the CLI and runs once.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { withEvents } from "../ssh/audit.ts";
import { type SshFixture, startSshFixture } from "../ssh/support.ts";
import { dataDirBytes } from "../support/data-dir-files.ts";
import { mcpClient, type ToolText, textOf } from "./support.ts";

let f: SshFixture;
let human: string;
let agent: string;
let approver: string;
let dir: string;
let canary: string;
const CANARY = "canary: untouched\n";
const SSN = "123-45-6789";
const CARD = "4111 1111 1111 1111";
const EMAIL = "ada.lovelace@bank.example";

type ExecResult = ToolText & {
  structuredContent: { exit_code: number | null; stdout: string; stderr: string; rule?: string };
};

beforeAll(async () => {
  f = await startSshFixture();
  human = await f.token("dana@bank.example", ["sre"]);
  agent = await f.token("agent-7@bank.example", ["agents"]);
  approver = await f.token("bob@bank.example", ["approvers"]);
  dir = mkdtempSync(join(tmpdir(), "custos-mcp-ssh-"));
  canary = join(dir, "canary.txt");
  const lines: string[] = [];
  for (let i = 0; i < 4000; i++) lines.push(`row ${i} ssn ${SSN} card ${CARD} mail ${EMAIL} ok-${i}`);
  writeFileSync(join(dir, "customers.txt"), `${lines.join("\n")}\n`);
}, 60_000);

afterAll(async () => {
  await f?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const untouched = () => existsSync(canary) && readFileSync(canary, "utf8") === CANARY;
const exec = async (c: Awaited<ReturnType<typeof mcpClient>>, command: string, stdin?: string) =>
  (await c.client.callTool({
    name: "build-host__exec",
    arguments: { command, ...(stdin !== undefined ? { stdin } : {}) },
  })) as ExecResult;

describe("build-host__exec", () => {
  test("offered to both identities; a human's command runs with exit status, stdout, stderr and stdin", async () => {
    const c = await mcpClient(f.httpPort, human);
    const tools = (await c.client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(["build-host__exec"]);
    const ok = await exec(c, "echo hello; id -un");
    expect(ok.structuredContent).toMatchObject({ exit_code: 0, stdout: `hello\n${f.sshd.user}\n` });
    const failing = await exec(c, "echo out; echo err >&2; exit 7");
    expect(failing.isError).toBe(true);
    expect(failing.structuredContent).toMatchObject({ exit_code: 7, stdout: "out\n", stderr: "err\n" });
    const piped = await exec(c, "wc -c", "x".repeat(100_000));
    expect(piped.structuredContent.stdout.trim()).toBe("100000");
    const plain = await exec(c, `head -n 1 ${join(dir, "customers.txt")}`);
    expect(plain.structuredContent.stdout).toContain(SSN);
    await c.close();
    const a = await mcpClient(f.httpPort, agent);
    expect((await a.client.listTools()).tools.map((t) => t.name)).toEqual(["build-host__exec"]);
    await a.close();
  });

  test("an agent's output arrives masked across SSH packets; everything else arrives", async () => {
    const c = await mcpClient(f.httpPort, agent);
    const r = await exec(c, `cat ${join(dir, "customers.txt")}`);
    const err = await exec(c, `cat /nonexistent/${SSN}`);
    await c.close();
    expect(r.structuredContent.exit_code).toBe(0);
    const lines = r.structuredContent.stdout.trimEnd().split("\n");
    expect(lines.length).toBe(4000);
    expect(lines[3999]).toMatch(/^row 3999 ssn .* ok-3999$/);
    expect(err.structuredContent.exit_code).toBe(1);
    expect(err.structuredContent.stderr).toMatch(/No such file/);
    const bytes = c.received();
    for (const v of [SSN, CARD, EMAIL, "6789", "ada.lovelace"]) expect(bytes.includes(v)).toBe(false);
  });

  test("an agent's attacks on the canary are refused by effect, naming the rule; look-alikes run", async () => {
    writeFileSync(canary, CANARY);
    const c = await mcpClient(f.httpPort, agent);
    for (const attack of [
      `cat ${canary}; rm -f ${canary}`,
      `cat ${canary}\nrm -f ${canary}`,
      `cat $(rm -f ${canary})`,
      `echo pwned > ${canary}`,
      `sh -c 'rm -f ${canary}'`,
      `env rm -f ${canary}`,
      `cat ${canary} & rm -f ${canary}`,
    ]) {
      const r = await exec(c, attack);
      expect({
        attack,
        code: r.structuredContent.exit_code,
        rule: /^custos\.ssh_/.test(r.structuredContent.rule ?? ""),
      }).toEqual({
        attack,
        code: 126,
        rule: true,
      });
      expect(textOf(r)).toContain("refused by Custos (rule custos.");
      expect(untouched()).toBe(true);
    }
    // Bad arguments are protocol errors, and nothing runs.
    for (const args of [
      { command: "" },
      { command: `rm -f ${canary}`, pty: true },
      { command: "a\u0000b" },
      { cmd: "id" },
    ]) {
      const e = await c.client.callTool({ name: "build-host__exec", arguments: args }).catch((x) => x);
      expect(e).toBeInstanceOf(McpError);
    }
    const quoted = await exec(c, `echo 'a; rm -f ${canary}' "b && c" 'x>y'`);
    expect(quoted.structuredContent.stdout).toBe(`a; rm -f ${canary} b && c x>y\n`);
    const read = await exec(c, `cat ${canary}`);
    expect(read.structuredContent.stdout).toBe(CANARY);
    await c.close();
    expect(untouched()).toBe(true);
  });

  test("a held command without a progressToken returns the request at once; approved, it runs once", async () => {
    const created = join(dir, "approved-file");
    const c = await mcpClient(f.httpPort, agent);
    const held = (await exec(c, `touch ${created}`)) as unknown as ToolText & {
      structuredContent: { status: string; request_id: string; approve: string };
    };
    expect(held.structuredContent.status).toBe("held");
    const id = held.structuredContent.request_id;
    expect(held.structuredContent.approve).toContain("custos approve");
    expect(existsSync(created)).toBe(false);
    const pending = await f.gw.approvals.list({ status: "pending" });
    expect(pending.find((p) => p.statementText === `touch ${created}`)?.id).toBe(id);
    const cli = Bun.spawn(
      [
        "./custos",
        "approve",
        id,
        "--reason",
        "CHG-2",
        "--token",
        approver,
        "--gateway",
        `http://127.0.0.1:${f.httpPort}`,
      ],
      { stdout: "ignore", stderr: "pipe" },
    );
    expect(await cli.exited).toBe(0);
    for (let i = 0; i < 100 && !existsSync(created); i++) await Bun.sleep(50);
    expect(existsSync(created)).toBe(true);
    rmSync(created);
    // The same command again is a new request: it does not run on the old approval.
    const again = (await exec(c, `touch ${created}`)) as unknown as ToolText & {
      structuredContent: { status: string; request_id: string };
    };
    expect(again.structuredContent.status).toBe("held");
    expect(again.structuredContent.request_id).not.toBe(id);
    await Bun.sleep(300);
    expect(existsSync(created)).toBe(false);
    await c.close();
    await Bun.sleep(300);
    expect(existsSync(created)).toBe(false);
  });

  test("each call is an mcp.tool_call of the MCP session and a statement of an SSH session; no token stored", async () => {
    await withEvents(f, (events) => {
      const calls = events.filter((e) => e.type === "mcp.tool_call" && e.data.tool === "build-host__exec");
      expect(calls.some((e) => e.data.status === "ok" && e.data.exit_code === 0)).toBe(true);
      expect(calls.some((e) => e.data.status === "ok" && e.data.request_id)).toBe(true);
      const sshStarts = events.filter(
        (e) => e.type === "session.start" && e.data.protocol === "ssh" && e.data.connection === "build-host",
      );
      expect(sshStarts.length).toBeGreaterThan(0);
      const texts = events.filter((e) => e.type === "statement").map((e) => String(e.data.text));
      expect(texts).toContain("echo hello; id -un");
    });
    // Out of this process: reading the live SQLite files here would drop the gateway's locks on them.
    const stored = dataDirBytes(f.dataDir);
    for (const t of [human, agent, approver]) expect(stored.includes(t)).toBe(false);
  });
});
