// What the gateway refuses with the default pack (forwarding, agent forwarding and X11 are allowed only by
// lists: forwarding.test.ts, remote-forwarding.test.ts, agent-forwarding.test.ts, x11.test.ts), and
// whatever the identity: unknown
// channel types, global requests and subsystems, environment requests; a target whose host key changed;
// and bad input before and after the version exchange. Each refusal leaves the gateway serving others.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { freePort } from "../support/free-port.ts";
import { withEvents } from "./audit.ts";
import { run } from "./processes.ts";
import { type SshFixture, startSshFixture, viaGateway } from "./support.ts";

let f: SshFixture;
let human: string;

beforeAll(async () => {
  f = await startSshFixture();
  human = await f.token("dana@bank.example", ["sre"]);
}, 60_000);

afterAll(async () => {
  await f?.stop();
});

const SSH_OPTS = (f: SshFixture) => [
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
];

/** The suite's commands get 20 s each. */
const spawnRun = (cmd: string[], env: Record<string, string> = {}) => run(cmd, env, undefined, 20_000);

describe("refused requests", () => {
  test("local, remote and stdio forwarding are refused; the target port is never reached", async () => {
    // -W is a direct-tcpip channel to the target's own sshd port.
    const w = await spawnRun(
      ["sshpass", "-e", "ssh", ...SSH_OPTS(f), "-W", `127.0.0.1:${f.sshd.port}`, "build-host@127.0.0.1"],
      { SSHPASS: human },
    );
    expect(w.code).toBe(255);
    expect(w.stdout).not.toContain("SSH-2.0");
    const r = await spawnRun(
      [
        "sshpass",
        "-e",
        "ssh",
        ...SSH_OPTS(f),
        "-o",
        "ExitOnForwardFailure=yes",
        "-R",
        `${await freePort()}:127.0.0.1:${f.sshd.port}`,
        "build-host@127.0.0.1",
        "true",
      ],
      { SSHPASS: human },
    );
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/remote port forwarding failed/i);
    // -L and -D listen on the client side; a connection through them asks for direct-tcpip, refused.
    for (const flag of ["-L", "-D"]) {
      const local = await freePort();
      const spec = flag === "-L" ? `${local}:127.0.0.1:${f.sshd.port}` : String(local);
      const p = Bun.spawn(
        ["sshpass", "-e", "ssh", ...SSH_OPTS(f), "-N", flag, spec, "build-host@127.0.0.1"],
        {
          env: { ...process.env, SSHPASS: human },
          stdout: "ignore",
          stderr: "pipe",
        },
      );
      let got = "";
      for (let i = 0; i < 100 && got === ""; i++) {
        await Bun.sleep(100);
        got = await new Promise<string>((resolve) => {
          let data = "";
          Bun.connect({
            hostname: "127.0.0.1",
            port: local,
            socket: {
              open(s) {
                // SOCKS5: no auth, then CONNECT 127.0.0.1:<sshd> (RFC 1928).
                if (flag === "-D") s.write(new Uint8Array([5, 1, 0]));
              },
              data(s, d) {
                data += Buffer.from(d).toString("latin1");
                if (flag === "-D" && data === "\x05\x00") {
                  const port = f.sshd.port;
                  s.write(new Uint8Array([5, 1, 0, 1, 127, 0, 0, 1, port >> 8, port & 255]));
                }
              },
              close() {
                resolve(data === "" ? "closed" : data);
              },
              error() {
                resolve("error");
              },
            },
          }).catch(() => resolve(""));
          setTimeout(() => resolve(data || "timeout"), 3000);
        });
        if (got === "") continue;
      }
      p.kill();
      await p.exited;
      expect({ flag, reachedSshd: got.includes("SSH-2.0") }).toEqual({ flag, reachedSshd: false });
    }
  });

  test("agent forwarding and X11 forwarding are refused", async () => {
    const agentSock = join(f.sshd.dir, "agent.sock");
    const agent = Bun.spawn(["ssh-agent", "-D", "-a", agentSock], { stdout: "ignore", stderr: "ignore" });
    await Bun.sleep(300);
    const a = await spawnRun(
      [
        "sshpass",
        "-e",
        "ssh",
        ...SSH_OPTS(f),
        "-A",
        "build-host@127.0.0.1",
        "echo agent=${SSH_AUTH_SOCK:-none}",
      ],
      {
        SSHPASS: human,
        SSH_AUTH_SOCK: agentSock,
      },
    );
    agent.kill();
    expect(a.stdout).toBe("agent=none\n");
    const x = await spawnRun(
      ["sshpass", "-e", "ssh", ...SSH_OPTS(f), "-X", "build-host@127.0.0.1", "echo display=${DISPLAY:-none}"],
      {
        SSHPASS: human,
        DISPLAY: "127.0.0.1:0",
      },
    );
    expect(x.stdout).toBe("display=none\n");
    await withEvents(f, (events) => {
      const refused = events
        .filter((e) => e.type === "ssh.refused")
        .map((e) => (e.data as { request: string }).request);
      expect(refused).toContain("auth-agent-req@openssh.com");
      expect(refused).toContain("x11-req");
      expect(refused).toContain("tcpip-forward");
      expect(refused).toContain("direct-tcpip");
    });
  });

  test("unknown channel types, global requests, subsystems and env are refused; the connection serves on", async () => {
    const r = await spawnRun([
      "/usr/bin/python3",
      join(import.meta.dir, "odd-requests.py"),
      String(f.sshPort),
      human,
      "echo still-here ${LD_PRELOAD:-unset}",
    ]);
    expect(JSON.parse(r.stdout || "{}")).toEqual({
      unknown_channel: "refused 3",
      global_request: "refused",
      direct_tcpip: "refused 2",
      subsystem: "refused",
      exec_stdout: "still-here unset\n",
      exec_status: 0,
    });
  });

  test("keyboard-interactive takes the token as its answer; a wrong one is refused", async () => {
    const script = join(import.meta.dir, "kbd-interactive.py");
    const ok = await spawnRun(["/usr/bin/python3", script, String(f.sshPort), human, "echo via-kbd"]);
    expect(ok.stdout).toBe("Custos identity token (password):\nvia-kbd\n");
    const bad = await spawnRun(["/usr/bin/python3", script, String(f.sshPort), `${human}x`, "echo via-kbd"]);
    expect(bad.stdout).toBe("refused\n");
  });

  test("bad input ends only that client: garbage before the version, an oversized packet", async () => {
    const raw = async (bytes: Uint8Array[]): Promise<string> =>
      new Promise((resolve) => {
        let got = "";
        Bun.connect({
          hostname: "127.0.0.1",
          port: f.sshPort,
          socket: {
            open(s) {
              for (const b of bytes) s.write(b);
            },
            data(_s, d) {
              got += Buffer.from(d).toString("latin1");
            },
            close() {
              resolve(got);
            },
            error() {
              resolve(got);
            },
          },
        });
        setTimeout(() => resolve(`${got}<still open>`), 15_000);
      });
    // A held human session on the side must not notice.
    const long = viaGateway(f, human, "ssh", ["sleep 2; echo survived"]);
    const garbage = await raw([new TextEncoder().encode(`${"\u0000\u00ff garbage ".repeat(2000)}\r\n`)]);
    expect(garbage).not.toContain("<still open>");
    const header = new TextEncoder().encode("SSH-2.0-attacker\r\n");
    const huge = new Uint8Array(8);
    new DataView(huge.buffer).setUint32(0, 0x7fffffff);
    const oversized = await raw([header, huge]);
    expect(oversized.startsWith("SSH-2.0-Custos")).toBe(true);
    expect(oversized).not.toContain("<still open>");
    const r = await long;
    expect(r.stdout).toBe("survived\n");
    const after = await viaGateway(f, human, "ssh", ["echo next"]);
    expect(after.stdout).toBe("next\n");
  });
});

describe("the target's host key", () => {
  test("a known_hosts file pins the key of the target's [host]:port entry", async () => {
    const pinned = await startSshFixture({
      target: (sshd) => ({ host_key: undefined, known_hosts_file: join(sshd.dir, "known_hosts") }),
    });
    try {
      const r = await viaGateway(pinned, await pinned.token("dana@bank.example", ["sre"]), "ssh", [
        "echo pinned",
      ]);
      expect(r.stdout).toBe("pinned\n");
    } finally {
      await pinned.stop();
    }
  });

  test("a changed host key is refused before the target is used", async () => {
    const other = await startSshFixture({ target: { host_key: undefined } as Record<string, unknown> }).catch(
      (e) => e,
    );
    // host_key is required: without it (and without known_hosts_file) the config is refused.
    expect(String(other)).toMatch(/host_key/);
    const changed = await startSshFixture({});
    try {
      const t = await changed.token("dana@bank.example", ["sre"]);
      // Re-key the target under the gateway: its pinned key no longer matches.
      const pin = changed.sshd.otherHostKey;
      const restarted = await startSshFixture({ target: { host_key: pin } });
      try {
        const r = await viaGateway(restarted, await restarted.token("dana@bank.example", ["sre"]), "ssh", [
          "echo reached",
        ]);
        expect(r.code).toBe(255);
        expect(r.stdout).toBe("");
        expect(r.stderr).toMatch(/host key is not the pinned one/);
      } finally {
        await restarted.stop();
      }
      const ok = await viaGateway(changed, t, "ssh", ["echo reached"]);
      expect(ok.stdout).toBe("reached\n");
    } finally {
      await changed.stop();
    }
  });
});
