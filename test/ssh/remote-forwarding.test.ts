// Remote forwarding (tcpip-forward, `ssh -R`) where the policy allows one bind address and port for one
// group (`lists.ssh.remote_forward_allowed`), with the real `ssh -R` client and the harness's real sshd.
// Judged on the target side: a connection to the forwarded port on the target reaches the listener on
// the client's side and its bytes come back; for refused requests (another group, port or bind address)
// nothing listens on the target (a connection there is refused) and the client's listener is never hit.
// After the client goes, the target stops listening.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { buildBundle, DEFAULT_POLICY_DIR } from "../../src/policy/opa.ts";
import { freePort } from "../support/free-port.ts";
import { withEvents } from "./audit.ts";
import { type SshFixture, startSshFixture } from "./support.ts";

let f: SshFixture;
let human: string;
let agent: string;
let clientSidePort: number;
let allowedPort: number;
let otherPort: number;
let clientSideHits = 0;
let listener: { stop(): void } | null = null;

beforeAll(async () => {
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open() {
        clientSideHits++;
      },
      data(s, d) {
        s.write(`client-side:${d.toString()}`);
      },
      end(s) {
        s.end();
      },
    },
  });
  listener = server;
  clientSidePort = server.port;
  allowedPort = await freePort();
  otherPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "custos-pack-rfwd-"));
  cpSync(join(DEFAULT_POLICY_DIR, "custos"), join(dir, "custos"), { recursive: true });
  const listsFile = join(dir, "custos", "lists", "data.json");
  const lists = JSON.parse(readFileSync(listsFile, "utf8"));
  lists.ssh.remote_forward_allowed = [{ groups: ["sre"], host: "localhost", port: allowedPort }];
  writeFileSync(listsFile, JSON.stringify(lists));
  const bundle = buildBundle(dir, join(dir, "build", "bundle.tar.gz"));
  f = await startSshFixture({ policyBundle: bundle });
  human = await f.token("dana@bank.example", ["sre"]);
  agent = await f.token("agent-7@bank.example", ["agents"]);
}, 60_000);

afterAll(async () => {
  listener?.stop();
  await f?.stop();
});

/** OpenSSH's options for every client here; `extra` before the destination. */
function sshArgs(extra: string[]): string[] {
  return [
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
    ...extra,
    "build-host@127.0.0.1",
  ];
}

/** `ssh -N -R spec` through the gateway; ExitOnForwardFailure makes a refused forward end the client. */
function remoteForward(token: string, spec: string): Subprocess<"ignore", "pipe", "pipe"> {
  return Bun.spawn(sshArgs(["-N", "-o", "ExitOnForwardFailure=yes", "-R", spec]), {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, SSHPASS: token },
  });
}

/**
 * Connects to a port on the target's side and sends `text`; the reply, or null when nothing listens. The
 * connection is ended once the echo is in (a half-close right after the bytes can reach OpenSSH's client
 * while it is still connecting to its local listener, which then drops the connection).
 */
async function onTarget(port: number, text: string): Promise<string | null> {
  return new Promise((resolve) => {
    let reply = "";
    let settled = false;
    const done = (v: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => done(reply), 5_000);
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(s) {
          s.write(text);
        },
        data(s, d) {
          reply += d.toString();
          if (reply.endsWith(text)) s.end();
        },
        close() {
          done(reply);
        },
        error() {
          done(null);
        },
        connectError() {
          done(null);
        },
      },
    }).catch(() => done(null));
  });
}

async function listening(port: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(s) {
            s.end();
            resolve(true);
          },
          data() {},
          connectError() {
            resolve(false);
          },
        },
      }).catch(() => resolve(false));
    });
    if (ok) return true;
    await Bun.sleep(100);
  }
  return false;
}

describe("remote forwarding allowed by policy", () => {
  test("the allowed group's port on the target reaches the client's listener; bytes round-trip and are recorded", async () => {
    const before = clientSideHits;
    const p = remoteForward(human, `${allowedPort}:127.0.0.1:${clientSidePort}`);
    try {
      // The readiness probe is one connection through the forward; each exchange below another.
      expect(await listening(allowedPort, 15_000)).toBe(true);
      expect(await onTarget(allowedPort, "ping-r41")).toBe("client-side:ping-r41");
      expect(await onTarget(allowedPort, "ping-r42")).toBe("client-side:ping-r42");
      expect(clientSideHits - before).toBe(3);
    } finally {
      p.kill();
      await p.exited;
    }
    // The client is gone: the gateway cancelled the forward and the target stopped listening.
    const until = Date.now() + 10_000;
    while (Date.now() < until && (await onTarget(allowedPort, "x")) !== null) await Bun.sleep(100);
    expect(await onTarget(allowedPort, "after")).toBeNull();
    await Bun.sleep(300);
    await withEvents(f, (events) => {
      const fwd = events.filter(
        (e) => e.type === "ssh.forwarded" && (e.data as { direction?: unknown }).direction === "remote",
      );
      expect(fwd[0]?.data).toMatchObject({ listen: `localhost:${allowedPort}` });
      // The listener, then one event per connection relayed (the readiness probe's included).
      expect(
        fwd.filter((e) => (e.data as { from?: unknown }).from !== undefined).length,
      ).toBeGreaterThanOrEqual(2);
      const st = events.find(
        (e) =>
          e.type === "statement" &&
          (e.data as { text?: unknown }).text === `tcpip-forward localhost:${allowedPort}`,
      );
      expect(st).toBeDefined();
    });
  }, 60_000);

  test("cancel-tcpip-forward (ssh -O cancel) stops the listener on the target while the session lives on", async () => {
    const control = join(mkdtempSync(join(tmpdir(), "custos-rfwd-ctl-")), "ctl");
    const spec = `${allowedPort}:127.0.0.1:${clientSidePort}`;
    const env = { ...process.env, SSHPASS: human };
    const master = Bun.spawn(
      sshArgs(["-N", "-M", "-S", control, "-o", "ExitOnForwardFailure=yes", "-R", spec]),
      {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        env,
      },
    );
    try {
      expect(await listening(allowedPort, 15_000)).toBe(true);
      expect(await onTarget(allowedPort, "before-cancel")).toBe("client-side:before-cancel");
      const cancel = Bun.spawn(sshArgs(["-S", control, "-O", "cancel", "-R", spec]), {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        env,
      });
      expect(await cancel.exited).toBe(0);
      const until = Date.now() + 10_000;
      while (Date.now() < until && (await onTarget(allowedPort, "x")) !== null) await Bun.sleep(100);
      expect(await onTarget(allowedPort, "after-cancel")).toBeNull();
      // The session itself is still there.
      expect(master.exitCode).toBeNull();
    } finally {
      master.kill();
      await master.exited;
    }
    await withEvents(f, (events) => {
      const st = events.filter(
        (e) =>
          e.type === "statement" &&
          (e.data as { text?: unknown }).text === `tcpip-forward localhost:${allowedPort}`,
      );
      expect(st.some((e) => JSON.stringify(e.data).includes("cancelled"))).toBe(true);
    });
  }, 60_000);

  test("another group, port or bind address is refused and nothing listens on the target", async () => {
    const before = clientSideHits;
    // The last asks the target to choose a port: refused all the same (no port to probe; the client's
    // listener, never hit, is the judge there).
    const attempts: [string, string, number | null][] = [
      [agent, `${allowedPort}:127.0.0.1:${clientSidePort}`, allowedPort],
      [human, `${otherPort}:127.0.0.1:${clientSidePort}`, otherPort],
      [human, `127.0.0.1:${allowedPort}:127.0.0.1:${clientSidePort}`, allowedPort],
      [human, `0.0.0.0:${allowedPort}:127.0.0.1:${clientSidePort}`, allowedPort],
      [human, `0:127.0.0.1:${clientSidePort}`, null],
    ];
    for (const [token, spec, port] of attempts) {
      const p = remoteForward(token, spec);
      const timer = setTimeout(() => p.kill(), 20_000);
      const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      clearTimeout(timer);
      expect({ spec, code, failed: stderr.includes("forwarding failed") }).toEqual({
        spec,
        code: 255,
        failed: true,
      });
      if (port !== null)
        expect({ spec, reply: await onTarget(port, "probe") }).toEqual({ spec, reply: null });
    }
    expect(clientSideHits).toBe(before);
    await withEvents(f, (events) => {
      const refused = events.filter(
        (e) => e.type === "ssh.refused" && (e.data as { request?: unknown }).request === "tcpip-forward",
      );
      expect(refused.length).toBeGreaterThanOrEqual(attempts.length);
      for (const e of refused)
        expect((e.data as { rule?: unknown }).rule).toBe("custos.ssh_remote_forwarding");
    });
  }, 120_000);
});
