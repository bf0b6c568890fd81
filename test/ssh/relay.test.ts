// The relay's backpressure with real OpenSSH clients: several MB on stderr (and on both streams at once)
// through the gateway arrive whole, every byte, and the command's exit status with them. A write refused
// by the client's stderr stream must wait for that stream's drain, not stdout's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { withEvents } from "./audit.ts";
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

const MB = 1024 * 1024;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("relay backpressure", () => {
  test("8 MB on stderr alone arrives whole", async () => {
    const r = await viaGateway(f, human, "ssh", [`head -c ${8 * MB} /dev/zero | tr '\\0' e >&2; exit 3`], {
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("");
    expect(r.stderr.length).toBe(8 * MB);
    expect(sha(r.stderr)).toBe(sha("e".repeat(8 * MB)));
  }, 90_000);

  test("4 MB on each stream at once arrive whole", async () => {
    const both = `(head -c ${4 * MB} /dev/zero | tr '\\0' e >&2 &); head -c ${4 * MB} /dev/zero | tr '\\0' o; wait`;
    const r = await viaGateway(f, human, "ssh", [both], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(4 * MB);
    expect(r.stderr.length).toBe(4 * MB);
    expect(sha(r.stdout)).toBe(sha("o".repeat(4 * MB)));
    expect(sha(r.stderr)).toBe(sha("e".repeat(4 * MB)));
  }, 90_000);

  test("a client that stops reading and disconnects mid-output ends its session", async () => {
    // Counted as starts and ends: an earlier test's session may still be ending when this one starts.
    const counts = () =>
      withEvents(f, (events) => ({
        starts: events.filter((e) => e.type === "session.start").length,
        ends: events.filter((e) => e.type === "session.end").length,
      }));
    const before = await counts();
    // stdout is never read: the client's window fills, the gateway's writes wait, then the client dies.
    const p = Bun.spawn(
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
        "build-host@127.0.0.1",
        "yes out | head -c 50000000 & yes err | head -c 50000000 >&2; wait",
      ],
      { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, SSHPASS: human } },
    );
    await Bun.sleep(3000);
    p.kill("SIGKILL");
    await p.exited;
    let after = await counts();
    for (let i = 0; i < 50 && (after.starts === before.starts || after.ends < after.starts); i++) {
      await Bun.sleep(200);
      after = await counts();
    }
    expect(after.starts).toBe(before.starts + 1);
    expect(after.ends).toBe(after.starts);
    // The gateway serves on.
    expect((await viaGateway(f, human, "ssh", ["echo still-here"])).stdout).toBe("still-here\n");
  }, 60_000);
});
