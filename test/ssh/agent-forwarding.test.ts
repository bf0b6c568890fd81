// Agent forwarding (`ssh -A`, auth-agent-req@openssh.com) where the policy allows it for one group
// (`lists.ssh.agent_forward_allowed`), with a real ssh-agent holding a throwaway key, the real `ssh`
// client and the harness's real sshd. The client forwards a counting proxy in front of the agent
// (ForwardAgent=<socket>; the client's own use goes to the agent's socket), so every connection
// the agent got is known. Judged by effect: allowed, `ssh-add -l` on the target lists the key's
// fingerprint and `ssh-keygen -Y sign` there makes a signature that verifies; refused (another group, a
// masked agent, the default pack), the target has no SSH_AUTH_SOCK and the agent got no connection.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { buildBundle, DEFAULT_POLICY_DIR } from "../../src/policy/opa.ts";
import { withEvents } from "./audit.ts";
import { type AgentProxy, run, startAgentProxy } from "./processes.ts";
import { type SshFixture, startSshFixture } from "./support.ts";

let f: SshFixture;
let plain: SshFixture;
let dir: string;
let agentProc: Subprocess | null = null;
let proxy: AgentProxy | null = null;
/** Connections the client's agent received through the proxy. */
const agentConnections = () => proxy?.connections() ?? 0;
let proxySock: string;
let agentSock: string;
let keyFile: string;
let fingerprint: string;
let publicBlob: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "custos-agent-fwd-"));
  keyFile = join(dir, "throwaway_ed25519");
  expect(
    (await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "throwaway", "-f", keyFile])).code,
  ).toBe(0);
  fingerprint = (await run(["ssh-keygen", "-lf", `${keyFile}.pub`])).stdout.split(/\s+/)[1] ?? "";
  publicBlob = readFileSync(`${keyFile}.pub`, "utf8").split(/\s+/)[1] ?? "";
  expect(fingerprint).toStartWith("SHA256:");
  agentSock = join(dir, "agent.sock");
  agentProc = Bun.spawn(["ssh-agent", "-D", "-a", agentSock], { stdout: "ignore", stderr: "ignore" });
  for (let i = 0; i < 100; i++) {
    if ((await run(["ssh-add", "-l"], { SSH_AUTH_SOCK: agentSock })).code !== 2) break;
    await Bun.sleep(50);
  }
  expect((await run(["ssh-add", keyFile], { SSH_AUTH_SOCK: agentSock })).code).toBe(0);
  // Only the agent holds the private key now: a signature made on the target came through it.
  rmSync(keyFile);
  // The proxy the client forwards: counts connections, pipes each to the real agent.
  proxySock = join(dir, "proxy.sock");
  proxy = startAgentProxy(proxySock, agentSock);
  const packDir = join(dir, "pack");
  cpSync(join(DEFAULT_POLICY_DIR, "custos"), join(packDir, "custos"), { recursive: true });
  const listsFile = join(packDir, "custos", "lists", "data.json");
  const lists = JSON.parse(readFileSync(listsFile, "utf8"));
  // `agents` is listed too: a masked identity must still be refused.
  lists.ssh.agent_forward_allowed = [{ groups: ["sre", "agents"] }];
  writeFileSync(listsFile, JSON.stringify(lists));
  const bundle = buildBundle(packDir, join(packDir, "build", "bundle.tar.gz"));
  const connection = { allow_groups: ["agents", "sre", "dev"] };
  [f, plain] = await Promise.all([
    startSshFixture({ policyBundle: bundle, connection }),
    startSshFixture({ connection }),
  ]);
}, 60_000);

afterAll(async () => {
  proxy?.stop();
  agentProc?.kill();
  await Promise.all([f?.stop(), plain?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Real `ssh -A` through the gateway, forwarding the counting proxy. ssh forwards only when its own agent
 * answers (ssh.c check_agent_present; IdentityAgent=none would turn forwarding off): that is the agent's
 * own socket, never the proxy, so only forwarded connections reach the proxy.
 */
function viaGatewayA(fx: SshFixture, token: string, command: string, forward = true) {
  return run(
    [
      "sshpass",
      "-e",
      "ssh",
      "-p",
      String(fx.sshPort),
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "LogLevel=ERROR",
      "-o",
      "PreferredAuthentications=password",
      "-o",
      "PubkeyAuthentication=no",
      "-o",
      `IdentityAgent=${agentSock}`,
      "-o",
      `ForwardAgent=${forward ? proxySock : "no"}`,
      "build-host@127.0.0.1",
      command,
    ],
    { SSHPASS: token },
  );
}

describe("agent forwarding allowed for a listed group", () => {
  test("the target lists the client's key through the forwarded agent", async () => {
    const before = agentConnections();
    const token = await f.token("dana@bank.example", ["sre"]);
    const r = await viaGatewayA(f, token, "ssh-add -l");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(fingerprint);
    expect(agentConnections()).toBeGreaterThan(before);
  });

  test("the target has the client's agent sign, and the signature verifies", async () => {
    const token = await f.token("dana@bank.example", ["sre"]);
    const sigFile = join(dir, "msg.sig");
    const r = await viaGatewayA(
      f,
      token,
      `echo custos-signed | ssh-keygen -Y sign -q -n custos-test -f ${keyFile}.pub > ${sigFile}.tmp && mv ${sigFile}.tmp ${sigFile}`,
    );
    expect(r.code).toBe(0);
    const allowed = join(dir, "allowed_signers");
    writeFileSync(allowed, `dana ${readFileSync(`${keyFile}.pub`, "utf8")}`);
    const v = await run(
      ["ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "dana", "-n", "custos-test", "-s", sigFile],
      {},
      "custos-signed\n",
    );
    expect(v.code).toBe(0);
  });

  test("the target cannot remove, add or lock the client's keys: the channel closes first", async () => {
    const token = await f.token("dana@bank.example", ["sre"]);
    const removeAll = await viaGatewayA(f, token, "ssh-add -D");
    expect(removeAll.code).not.toBe(0);
    const removeOne = await viaGatewayA(f, token, `ssh-add -d ${keyFile}.pub`);
    expect(removeOne.code).not.toBe(0);
    const askpass = join(dir, "askpass");
    writeFileSync(askpass, "#!/bin/sh\necho lock-pw\n", { mode: 0o755 });
    const lock = await viaGatewayA(f, token, `SSH_ASKPASS=${askpass} SSH_ASKPASS_REQUIRE=force ssh-add -x`);
    expect(lock.code).not.toBe(0);
    const extra = join(dir, "extra_ed25519");
    await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", extra]);
    const add = await viaGatewayA(f, token, `ssh-add ${extra}`);
    expect(add.code).not.toBe(0);
    // Judged on the client's own agent: its one key is still there, unlocked, and nothing was added.
    const direct = await run(["ssh-add", "-l"], { SSH_AUTH_SOCK: agentSock });
    expect(direct.code).toBe(0);
    expect(direct.stdout).toContain(fingerprint);
    expect(direct.stdout.trim().split("\n")).toHaveLength(1);
    // A look-alike on the same connection still works: listing the keys.
    const list = await viaGatewayA(f, token, "ssh-add -l");
    expect(list.stdout).toContain(fingerprint);
    await withEvents(f, (events) => {
      const refused = events
        .filter(
          (e) =>
            e.type === "ssh.refused" && (e.data as { request: string }).request === "auth-agent@openssh.com",
        )
        .map((e) => (e.data as { message: string }).message);
      expect(refused).toContain("SSH_AGENTC_REMOVE_ALL_IDENTITIES");
      expect(refused).toContain("SSH_AGENTC_REMOVE_IDENTITY");
      expect(refused).toContain("SSH_AGENTC_LOCK");
      expect(refused).toContain("SSH_AGENTC_ADD_IDENTITY");
    });
  });

  test("the channels are audited by message type, never with the key", async () => {
    await withEvents(f, (events) => {
      const forwarded = events.filter((e) => e.type === "ssh.agent_forwarded");
      const stages = forwarded.map((e) => (e.data as { stage: string }).stage);
      expect(stages).toContain("allowed");
      expect(stages).toContain("opened");
      const closed = forwarded
        .filter((e) => (e.data as { stage: string }).stage === "closed")
        .map((e) => (e.data as { messages: Record<string, number> }).messages);
      expect(closed.some((m) => (m.SSH_AGENTC_REQUEST_IDENTITIES ?? 0) > 0)).toBe(true);
      expect(
        closed.some((m) => (m.SSH_AGENTC_SIGN_REQUEST ?? 0) > 0 && (m.SSH_AGENT_SIGN_RESPONSE ?? 0) > 0),
      ).toBe(true);
      expect(JSON.stringify(events)).not.toContain(publicBlob);
    });
  });
});

describe("agent forwarding refused", () => {
  const noAgent = async (fx: SshFixture, subject: string, groups: string[], command: string) => {
    const before = agentConnections();
    const token = await fx.token(subject, groups);
    const r = await viaGatewayA(fx, token, command);
    expect(agentConnections()).toBe(before);
    return r;
  };

  test("a group not listed: the target has no agent, the client's agent is never asked", async () => {
    const r = await noAgent(f, "erin@bank.example", ["dev", "sre-readonly"], "ssh-add -l");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Could not open a connection to your authentication agent");
    const env = await noAgent(f, "erin@bank.example", ["dev"], 'echo "sock=[$SSH_AUTH_SOCK]"');
    expect(env.stdout).toBe("sock=[]\n");
  });

  test("the default pack: refused for a human of an allowed connection group", async () => {
    const r = await noAgent(plain, "dana@bank.example", ["sre"], "ssh-add -l");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Could not open a connection to your authentication agent");
  });

  test("a masked agent identity, though its group is listed", async () => {
    const r = await noAgent(f, "agent-7@bank.example", ["agents"], "echo hello");
    expect(r.stdout).toBe("hello\n");
  });

  test("without -A nothing is asked and nothing is refused", async () => {
    const before = agentConnections();
    const token = await f.token("dana@bank.example", ["sre"]);
    const r = await viaGatewayA(f, token, "ssh-add -l", false);
    expect(r.code).toBe(2);
    expect(agentConnections()).toBe(before);
  });

  test("each refusal is audited with its rule", async () => {
    for (const fx of [f, plain])
      await withEvents(fx, (events) => {
        const refused = events.filter(
          (e) =>
            e.type === "ssh.refused" &&
            (e.data as { request: string }).request === "auth-agent-req@openssh.com",
        );
        expect(refused.length).toBeGreaterThan(0);
        for (const e of refused)
          expect((e.data as { rule: string }).rule).toBe("custos.ssh_agent_forwarding");
      });
  });
});
