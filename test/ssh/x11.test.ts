// X11 forwarding (`ssh -Y`, x11-req) where the policy allows it for one group (`lists.ssh.x11_allowed`),
// with the real `ssh` client, the harness's real sshd (X11Forwarding yes, xauth) and a fake X server: a
// TCP listener on 127.0.0.1:6000+N the client reaches as DISPLAY=127.0.0.1:N. On the target a small
// program connects to its $DISPLAY (sshd's proxy display) with the xauth cookie sshd set, sends an X11
// connection setup and a payload, and prints what the X server answers. Judged by effect: allowed, the
// fake server receives the payload and its answer reaches the target; refused (another group, a masked
// agent, the default pack), the target's DISPLAY is unset and the fake server is never connected to.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBundle, DEFAULT_POLICY_DIR } from "../../src/policy/opa.ts";
import { withEvents } from "./audit.ts";
import { run } from "./processes.ts";
import { type SshFixture, startSshFixture } from "./support.ts";

const PAYLOAD = "CUSTOS-X11-PAYLOAD-7f3a";
const REPLY = "FAKE-X-SERVER-REPLY-91c2";

let f: SshFixture;
let plain: SshFixture;
let dir: string;
let display = 0;
let xServer: { stop(): void } | null = null;
let xConnections = 0;
let xReceived = "";
let xProgram: string;
/** The cookie the target's X client used (the one the client sent in x11-req). */
let cookieHex = "";

/** Connects to $DISPLAY as an X client would (X11 protocol, "Connection Setup"), then sends PAYLOAD. */
const X_CLIENT = `
import os, socket, struct, subprocess, sys
d = os.environ["DISPLAY"]
host, rest = d.rsplit(":", 1)
num = int(rest.split(".")[0])
lines = subprocess.run(["xauth", "list", d], capture_output=True, text=True).stdout.split("\\n")
entry = [l.split() for l in lines if l.strip()][0]
name, cookie = entry[1].encode(), bytes.fromhex(entry[2])
sys.stderr.write("cookie=" + entry[2] + "\\n")
pad = lambda b: b + b"\\0" * ((4 - len(b) % 4) % 4)
setup = b"l\\0" + struct.pack("<HHHH", 11, 0, len(name), len(cookie)) + b"\\0\\0" + pad(name) + pad(cookie)
s = socket.create_connection((host or "localhost", 6000 + num), timeout=10)
s.sendall(setup + b"${PAYLOAD}")
got = b""
while b"${REPLY}" not in got:
    chunk = s.recv(4096)
    if not chunk:
        break
    got += chunk
sys.stdout.write("reply=" + got.decode("latin1", "replace") + "\\n")
`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "custos-x11-"));
  xProgram = join(dir, "x-client.py");
  writeFileSync(xProgram, X_CLIENT);
  // The first free display number from :40 on (another suite or a real X server may hold some).
  for (let n = 40; n < 100 && !xServer; n++) {
    try {
      xServer = Bun.listen({
        hostname: "127.0.0.1",
        port: 6000 + n,
        socket: {
          open() {
            xConnections++;
          },
          data(s, d) {
            xReceived += d.toString("latin1");
            if (xReceived.includes(PAYLOAD)) s.write(REPLY);
          },
        },
      });
      display = n;
    } catch {}
  }
  expect(xServer).not.toBeNull();
  const packDir = join(dir, "pack");
  cpSync(join(DEFAULT_POLICY_DIR, "custos"), join(packDir, "custos"), { recursive: true });
  const listsFile = join(packDir, "custos", "lists", "data.json");
  const lists = JSON.parse(readFileSync(listsFile, "utf8"));
  // `agents` is listed too: a masked identity must still be refused.
  lists.ssh.x11_allowed = [{ groups: ["sre", "agents"] }];
  writeFileSync(listsFile, JSON.stringify(lists));
  const bundle = buildBundle(packDir, join(packDir, "build", "bundle.tar.gz"));
  const connection = { allow_groups: ["agents", "sre", "dev"] };
  [f, plain] = await Promise.all([
    startSshFixture({ policyBundle: bundle, connection, sshd: { x11: true } }),
    startSshFixture({ connection, sshd: { x11: true } }),
  ]);
}, 60_000);

afterAll(async () => {
  xServer?.stop();
  await Promise.all([f?.stop(), plain?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

/** Real `ssh -Y` through the gateway with DISPLAY at the fake X server. */
function viaGatewayY(fx: SshFixture, token: string, command: string, x11 = true) {
  return run(
    [
      "sshpass",
      "-e",
      "ssh",
      ...(x11 ? ["-Y"] : ["-x"]),
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
      "build-host@127.0.0.1",
      command,
    ],
    { SSHPASS: token, DISPLAY: `127.0.0.1:${display}`, XAUTHORITY: join(dir, "client-Xauthority") },
  );
}

describe("X11 forwarding allowed for a listed group", () => {
  test("an X client on the target reaches the client's X server, and its answer comes back", async () => {
    const before = xConnections;
    xReceived = "";
    const token = await f.token("dana@bank.example", ["sre"]);
    const r = await viaGatewayY(f, token, `python3 ${xProgram}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`reply=${REPLY}\n`);
    cookieHex = /cookie=([0-9a-f]+)/.exec(r.stderr)?.[1] ?? "";
    expect(cookieHex.length).toBeGreaterThanOrEqual(32);
    expect(xConnections).toBe(before + 1);
    expect(xReceived).toContain(PAYLOAD);
    // The client put its own cookie in place of the one sshd handed out: an X11 setup came first.
    expect(xReceived.startsWith("l\0")).toBe(true);
  });

  test("the target sees a display only for the session that asked", async () => {
    const token = await f.token("dana@bank.example", ["sre"]);
    const asked = await viaGatewayY(f, token, 'echo "display=[$DISPLAY]"');
    expect(asked.stdout).toMatch(/^display=\[localhost:\d+\.0\]\n$/);
    const notAsked = await viaGatewayY(f, token, 'echo "display=[$DISPLAY]"', false);
    expect(notAsked.stdout).toBe("display=[]\n");
  });

  test("each channel is audited with its byte counts, never the cookie", async () => {
    await withEvents(f, (events) => {
      const x11 = events
        .filter((e) => e.type === "ssh.x11_forwarded")
        .map((e) => e.data as Record<string, unknown>);
      expect(x11.some((d) => d.stage === "allowed" && d.protocol === "MIT-MAGIC-COOKIE-1")).toBe(true);
      expect(x11.some((d) => d.stage === "opened")).toBe(true);
      const closed = x11.filter((d) => d.stage === "closed");
      expect(closed.some((d) => (d.bytes_to_client as number) >= PAYLOAD.length)).toBe(true);
      expect(closed.some((d) => (d.bytes_from_client as number) >= REPLY.length)).toBe(true);
      expect(cookieHex).not.toBe("");
      expect(JSON.stringify(events)).not.toContain(cookieHex);
    });
  });
});

describe("X11 forwarding refused", () => {
  const noDisplay = async (fx: SshFixture, subject: string, groups: string[], command: string) => {
    const before = xConnections;
    const token = await fx.token(subject, groups);
    const r = await viaGatewayY(fx, token, command);
    expect(xConnections).toBe(before);
    return r;
  };

  test("a group not listed: no DISPLAY on the target, the X server never reached", async () => {
    const r = await noDisplay(f, "erin@bank.example", ["dev"], 'echo "display=[$DISPLAY]"');
    expect(r.stdout).toBe("display=[]\n");
    const x = await noDisplay(f, "erin@bank.example", ["dev"], `python3 ${xProgram}`);
    expect(x.code).not.toBe(0);
    expect(x.stdout).not.toContain(REPLY);
  });

  test("the default pack: refused for a human of an allowed connection group", async () => {
    const r = await noDisplay(plain, "dana@bank.example", ["sre"], `python3 ${xProgram}`);
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain(REPLY);
  });

  test("a masked agent identity, though its group is listed (X11 is never masked)", async () => {
    const r = await noDisplay(f, "agent-7@bank.example", ["agents"], "echo hello");
    expect(r.stdout).toBe("hello\n");
  });

  test("each refusal is audited with its rule", async () => {
    for (const fx of [f, plain])
      await withEvents(fx, (events) => {
        const refused = events.filter(
          (e) => e.type === "ssh.refused" && (e.data as { request: string }).request === "x11-req",
        );
        expect(refused.length).toBeGreaterThan(0);
        for (const e of refused) expect((e.data as { rule: string }).rule).toBe("custos.ssh_x11");
      });
  });
});
