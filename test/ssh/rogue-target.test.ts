// A target that opens agent and X11 channels towards the client on its own (OpenSSH's sshd only does so
// after a request; a compromised one need not). The target here is an ssh2 server the gateway dials
// like any other (host key pinned): on each exec it opens an `auth-agent@openssh.com` channel and an
// `x11` channel back towards the gateway and prints whether each was opened. The client runs real
// `ssh -A -Y` with a counting agent proxy and a counting fake X server, so a channel that reached the
// client would show there. Judged by effect: where the policy never allowed agent forwarding or X11 the
// client's agent and X server get nothing; where it allowed agent forwarding, the agent channel reaches
// the agent (the look-alike) while the x11 channel is still refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import ssh2 from "ssh2";
import { buildBundle, DEFAULT_POLICY_DIR } from "../../src/policy/opa.ts";
import { openAgentChannel } from "../../src/protocols/ssh/agent-forward.ts";
import { withEvents } from "./audit.ts";
import { type AgentProxy, run, startAgentProxy } from "./processes.ts";
import { type SshFixture, startSshFixture } from "./support.ts";

let f: SshFixture;
let dir: string;
let target: ssh2.Server;
let agentProc: Subprocess | null = null;
let agentSock: string;
let proxySock: string;
let proxy: AgentProxy | null = null;
/** Connections the client's agent received through the proxy. */
const agentConnections = () => proxy?.connections() ?? 0;
let xServer: { stop(): void } | null = null;
let display = 0;
let xConnections = 0;

/** The rogue target: accepts any login and every request, then opens channels nobody asked for. */
function startRogueTarget(hostKey: string): Promise<number> {
  target = new ssh2.Server({ hostKeys: [hostKey] }, (conn) => {
    conn.on("error", () => {});
    conn.on("authentication", (ctx) => ctx.accept());
    conn.on("ready", () => {
      conn.on("session", (acceptSession) => {
        const s = acceptSession();
        s.on("auth-agent", (accept) => accept?.());
        s.on("x11", (accept) => accept?.());
        s.on("pty", (accept) => accept?.());
        s.on("exec", (accept) => {
          const ch = accept();
          const agent = openAgentChannel(conn as unknown as ssh2.Connection).then(
            (c) => {
              // Asks the client's agent for its keys, as `ssh-add -l` would (REQUEST_IDENTITIES, 11).
              c.write(Buffer.from([0, 0, 0, 1, 11]));
              return new Promise<string>((res) => {
                c.once("data", (d: Buffer) => res(`opened(answer type ${d[4]})`));
                setTimeout(() => res("opened(no answer)"), 3000);
              }).finally(() => c.close());
            },
            () => "refused",
          );
          const x11 = new Promise<string>((res) =>
            conn.x11("127.0.0.1", 40000, (err, c) => {
              if (err) return res("refused");
              c.close();
              res("opened");
            }),
          );
          void Promise.all([agent, x11]).then(([a, x]) => {
            ch.write(`agent=${a} x11=${x}\n`);
            ch.exit(0);
            ch.end();
          });
        });
      });
    });
  });
  return new Promise((res) =>
    target.listen(0, "127.0.0.1", () => res((target.address() as { port: number }).port)),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "custos-rogue-"));
  const keys = ssh2.utils.generateKeyPairSync("ed25519");
  const port = await startRogueTarget(keys.private);
  const hostKey = keys.public.trim().split(/\s+/).slice(0, 2).join(" ");
  const keyFile = join(dir, "throwaway_ed25519");
  Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
  agentSock = join(dir, "agent.sock");
  agentProc = Bun.spawn(["ssh-agent", "-D", "-a", agentSock], { stdout: "ignore", stderr: "ignore" });
  for (let i = 0; i < 100; i++) {
    if (
      Bun.spawnSync(["ssh-add", keyFile], { env: { ...process.env, SSH_AUTH_SOCK: agentSock } }).exitCode ===
      0
    )
      break;
    await Bun.sleep(50);
  }
  proxySock = join(dir, "proxy.sock");
  proxy = startAgentProxy(proxySock, agentSock);
  for (let n = 70; n < 100 && !xServer; n++) {
    try {
      xServer = Bun.listen({
        hostname: "127.0.0.1",
        port: 6000 + n,
        socket: {
          open() {
            xConnections++;
          },
          data() {},
        },
      });
      display = n;
    } catch {}
  }
  const packDir = join(dir, "pack");
  cpSync(join(DEFAULT_POLICY_DIR, "custos"), join(packDir, "custos"), { recursive: true });
  const listsFile = join(packDir, "custos", "lists", "data.json");
  const lists = JSON.parse(readFileSync(listsFile, "utf8"));
  lists.ssh.agent_forward_allowed = [{ groups: ["sre"] }];
  writeFileSync(listsFile, JSON.stringify(lists));
  const bundle = buildBundle(packDir, join(packDir, "build", "bundle.tar.gz"));
  f = await startSshFixture({
    policyBundle: bundle,
    connection: { allow_groups: ["agents", "sre", "dev"] },
    target: { host: "127.0.0.1", port, host_key: hostKey },
  });
}, 60_000);

afterAll(async () => {
  proxy?.stop();
  xServer?.stop();
  agentProc?.kill();
  target?.close();
  await f?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function sshAY(token: string) {
  return run(
    [
      "sshpass",
      "-e",
      "ssh",
      "-Y",
      "-p",
      String(f.sshPort),
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
      `ForwardAgent=${proxySock}`,
      "build-host@127.0.0.1",
      "anything",
    ],
    {
      SSHPASS: token,
      DISPLAY: `127.0.0.1:${display}`,
      XAUTHORITY: join(dir, "Xauth"),
    },
  );
}

describe("a target opening agent and x11 channels on its own", () => {
  test("never allowed: both refused, the client's agent and X server get nothing", async () => {
    const [agentBefore, xBefore] = [agentConnections(), xConnections];
    const r = await sshAY(await f.token("erin@bank.example", ["dev"]));
    expect(r.stdout).toBe("agent=refused x11=refused\n");
    expect(agentConnections()).toBe(agentBefore);
    expect(xConnections).toBe(xBefore);
    await withEvents(f, (events) => {
      const refused = events
        .filter((e) => e.type === "ssh.refused")
        .map((e) => (e.data as { request: string }).request);
      expect(refused).toContain("auth-agent@openssh.com");
      expect(refused).toContain("x11");
    });
  });

  test("agent forwarding allowed (look-alike): the agent channel reaches the agent, x11 is still refused", async () => {
    const [agentBefore, xBefore] = [agentConnections(), xConnections];
    const r = await sshAY(await f.token("dana@bank.example", ["sre"]));
    // SSH_AGENT_IDENTITIES_ANSWER (12) from the client's real agent.
    expect(r.stdout).toBe("agent=opened(answer type 12) x11=refused\n");
    expect(agentConnections()).toBe(agentBefore + 1);
    expect(xConnections).toBe(xBefore);
  });
});
