// A human's interactive shell through the gateway, driven in a real terminal (tmux) with real OpenSSH:
// typed commands, a window change, Ctrl-C; then the recording is replayed (custos sessions play, and the
// exported asciicast through asciinema) in a terminal of the same size and compared with what the client saw.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseCast } from "../../src/recording/asciicast.ts";
import { withSshStore } from "./audit.ts";
import { type SshFixture, startSshFixture } from "./support.ts";

let f: SshFixture;
/** A gateway whose connection has a 3 s idle time-out: its own, so a slow moment under load in the
 * interactive test (a login, a quiet `sleep`) is not ended by it. */
let idle: SshFixture;
let human: string;
let idleHuman: string;
const socket = `custos-ssh-test-${process.pid}`;

async function tmux(...args: string[]): Promise<string> {
  const p = Bun.spawn(["tmux", "-f", "/dev/null", "-L", socket, ...args], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  if (code !== 0 && args[0] === "new-session") throw new Error(`tmux ${args[0]}: ${err}`);
  return out;
}

/**
 * The client's command in a pane: the shell that runs it prints its exit status when it leaves. tmux 3.3a
 * (built with libutempter) cannot be trusted to notice a pane's process exit: utempter's helper is forked
 * with SIGCHLD at SIG_DFL, so a pane that exits in that window stays an unreaped zombie and never shows
 * "Pane is dead" (tmux issues #311 and #4559; 18 of 100 bare `sh -c 'exit 3'` panes here). The shell's own
 * wait does not lose it.
 */
const CLIENT_EXITED = /^\[client exited (\d+)\]$/m;
const withExitMarker = (command: string) => `sh -c '${command}; echo "[client exited $?]"'`;
const exitStatus = (text: string) => Number(CLIENT_EXITED.exec(text)?.[1]);

async function paneUntil(
  target: string,
  pred: (text: string) => boolean,
  timeoutMs = 15_000,
): Promise<string> {
  let text = "";
  for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
    text = await tmux("capture-pane", "-p", "-t", target);
    if (pred(text)) return text;
    await Bun.sleep(100);
  }
  throw new Error(`pane ${target} never matched; it shows:\n${text}`);
}

const screen = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l !== "" && !l.startsWith("Pane is dead") && !CLIENT_EXITED.test(l));

beforeAll(async () => {
  [f, idle] = await Promise.all([startSshFixture(), startSshFixture({ connection: { idle_timeout: "3s" } })]);
  human = await f.token("dana@bank.example", ["sre"]);
  idleHuman = await idle.token("dana@bank.example", ["sre"]);
}, 60_000);

afterAll(async () => {
  await tmux("kill-server");
  await Promise.all([f?.stop(), idle?.stop()]);
});

describe("interactive shell", () => {
  test("typed commands, window change and Ctrl-C are relayed; the replay shows what the client saw", async () => {
    const ssh = [
      "sshpass",
      "-e",
      "ssh",
      "-tt",
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
      "build-host@127.0.0.1",
    ].join(" ");
    await tmux(
      "new-session",
      "-d",
      "-s",
      "client",
      "-x",
      "100",
      "-y",
      "30",
      "-e",
      `SSHPASS=${human}`,
      withExitMarker(ssh),
    );
    await tmux("set-option", "-t", "client", "remain-on-exit", "on");
    await paneUntil("client", (t) => /[$#] ?$/m.test(t));
    await tmux("send-keys", "-t", "client", "PS1='gw$ '; echo marker-$((6*7))", "Enter");
    await paneUntil("client", (t) => t.includes("marker-42"));
    await tmux("resize-window", "-t", "client", "-x", "120", "-y", "40");
    await Bun.sleep(300);
    await tmux("send-keys", "-t", "client", "stty size", "Enter");
    await paneUntil("client", (t) => t.includes("40 120"));
    await tmux("send-keys", "-t", "client", "sleep 30", "Enter");
    // Ctrl-C goes once the sleep runs on the target: sent earlier, it reaches the shell, not the sleep.
    for (const end = Date.now() + 10_000; Date.now() < end; await Bun.sleep(100))
      if ((await f.sshd.direct("pgrep -x -f 'sleep 30'")).code === 0) break;
    await tmux("send-keys", "-t", "client", "C-c");
    await tmux("send-keys", "-t", "client", "echo after-interrupt", "Enter");
    const started = Date.now();
    await paneUntil("client", (t) => /^after-interrupt$/m.test(t));
    expect(Date.now() - started).toBeLessThan(10_000);
    await tmux("send-keys", "-t", "client", "exit", "Enter");
    // After `logout` the target's exit status reaches the client through the gateway and the client leaves.
    const seen = await paneUntil("client", (t) => CLIENT_EXITED.test(t), 15_000);
    expect(seen).toContain("logout");
    expect(exitStatus(seen)).toBe(0);

    const id = await withSshStore(f, async (store) => {
      const sessions = await store.listSessions({ limit: 10 });
      return sessions.find((s) => s.connection === "build-host" && s.subject === "dana@bank.example")!.id;
    });
    const castFile = join(f.dataDir, "shell.cast");
    const exported = Bun.spawn(
      ["./custos", "sessions", "export", id, "--config", f.configFile, "--format", "cast", "--out", castFile],
      { stderr: "pipe" },
    );
    expect(await exported.exited).toBe(0);
    const cast = parseCast(readFileSync(castFile, "utf8"));
    expect(cast.header.width).toBe(100);
    expect(cast.header.height).toBe(30);
    expect(cast.events.some(([, code, data]) => code === "r" && data === "120x40")).toBe(true);
    expect(cast.events.some(([, code, data]) => code === "i" && data.includes("\u0003"))).toBe(true);
    // Replayed in a terminal of the client's final size, the screen is the client's.
    for (const [name, command] of [
      ["play", `./custos sessions play ${id} --config ${f.configFile} --speed 0`],
      ["asciinema", `asciinema play -i 0.01 ${castFile}`],
    ] as const) {
      await tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", process.cwd(), command);
      await tmux("set-option", "-t", name, "remain-on-exit", "on");
      const replay = await paneUntil(
        name,
        (t) => t.includes("after-interrupt") && /logout|exit/.test(t.split("after-interrupt").pop() ?? ""),
      );
      expect({ name, screen: screen(replay).slice(-6) }).toEqual({ name, screen: screen(seen).slice(-6) });
    }
  }, 120_000);

  test("an idle shell is ended by the idle time-out", async () => {
    const ssh = [
      "sshpass",
      "-e",
      "ssh",
      "-tt",
      "-p",
      String(idle.sshPort),
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
    ].join(" ");
    await tmux(
      "new-session",
      "-d",
      "-s",
      "idle",
      "-x",
      "80",
      "-y",
      "24",
      "-e",
      `SSHPASS=${idleHuman}`,
      withExitMarker(ssh),
    );
    await tmux("set-option", "-t", "idle", "remain-on-exit", "on");
    // The time-out is 3 s; the wait also covers logging in through sshpass on a loaded machine.
    const text = await paneUntil("idle", (t) => CLIENT_EXITED.test(t), 45_000);
    expect(text).toContain("custos: the session was idle too long");
    expect(exitStatus(text)).toBe(255);
  }, 60_000);
});
