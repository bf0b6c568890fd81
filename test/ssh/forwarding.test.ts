// Forwarding (direct-tcpip) where the policy allows one destination for one group
// (`lists.ssh.forward_allowed`), with the real `ssh -W` client. Judged on the destinations: TCP servers
// count the connections they got; only the allowed identity reaches the allowed one, and its bytes come
// back and are recorded. Look-alike destinations (another port, another spelling of the host, another
// group) are refused without a connection.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBundle, DEFAULT_POLICY_DIR } from "../../src/policy/opa.ts";
import { withEvents } from "./audit.ts";
import { run } from "./processes.ts";
import { type SshFixture, startSshFixture } from "./support.ts";

let f: SshFixture;
let human: string;
let agent: string;
const hits = { allowed: 0, other: 0 };
let allowedPort: number;
let otherPort: number;
const servers: { stop(): void }[] = [];

function echoServer(which: keyof typeof hits): number {
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open() {
        hits[which]++;
      },
      data(s, d) {
        s.write(`echo:${d.toString()}`);
      },
      end(s) {
        s.end();
      },
    },
  });
  servers.push(server);
  return server.port;
}

beforeAll(async () => {
  allowedPort = echoServer("allowed");
  otherPort = echoServer("other");
  const dir = mkdtempSync(join(tmpdir(), "custos-pack-fwd-"));
  cpSync(join(DEFAULT_POLICY_DIR, "custos"), join(dir, "custos"), { recursive: true });
  const listsFile = join(dir, "custos", "lists", "data.json");
  const lists = JSON.parse(readFileSync(listsFile, "utf8"));
  lists.ssh.forward_allowed = [{ groups: ["sre"], host: "127.0.0.1", port: allowedPort }];
  writeFileSync(listsFile, JSON.stringify(lists));
  const bundle = buildBundle(dir, join(dir, "build", "bundle.tar.gz"));
  f = await startSshFixture({ policyBundle: bundle });
  human = await f.token("dana@bank.example", ["sre"]);
  agent = await f.token("agent-7@bank.example", ["agents"]);
}, 60_000);

afterAll(async () => {
  for (const s of servers) s.stop();
  await f?.stop();
});

async function stdioForward(token: string, to: string, input: string) {
  return run(
    [
      "sshpass",
      "-e",
      "ssh",
      "-p",
      String(f.sshPort),
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "PubkeyAuthentication=no",
      "-o",
      "LogLevel=ERROR",
      "-W",
      to,
      "build-host@127.0.0.1",
    ],
    { SSHPASS: token },
    input,
  );
}

describe("forwarding allowed by policy", () => {
  test("the allowed group reaches the allowed destination; the bytes come back and are recorded", async () => {
    const r = await stdioForward(human, `127.0.0.1:${allowedPort}`, "ping-7c1");
    expect(r.stdout).toBe("echo:ping-7c1");
    expect(hits.allowed).toBe(1);
    await withEvents(f, (events) => {
      const fwd = events.find((e) => e.type === "ssh.forwarded");
      expect(fwd?.data).toMatchObject({ to: `127.0.0.1:${allowedPort}` });
      const st = events.find(
        (e) =>
          e.type === "statement" &&
          (e.data as { text?: unknown }).text === `direct-tcpip 127.0.0.1:${allowedPort}`,
      );
      expect(st).toBeDefined();
    });
  });

  test("another group, port or spelling of the host is refused and never connects", async () => {
    const before = { ...hits };
    const attempts: [string, string][] = [
      [agent, `127.0.0.1:${allowedPort}`],
      [human, `127.0.0.1:${otherPort}`],
      [human, `localhost:${allowedPort}`],
      [human, `127.1:${allowedPort}`],
    ];
    for (const [token, to] of attempts) {
      const r = await stdioForward(token, to, "ping");
      expect({ to, out: r.stdout }).toEqual({ to, out: "" });
      expect(r.code).not.toBe(0);
    }
    expect(hits).toEqual(before);
    await withEvents(f, (events) => {
      const refused = events.filter(
        (e) => e.type === "ssh.refused" && (e.data as { request?: unknown }).request === "direct-tcpip",
      );
      expect(refused.length).toBeGreaterThanOrEqual(attempts.length);
      for (const e of refused) expect((e.data as { rule?: unknown }).rule).toBe("custos.ssh_forwarding");
    });
  });
});
