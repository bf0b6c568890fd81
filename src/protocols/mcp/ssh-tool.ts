// `<conn>__exec`: one command run through the gateway's own SSH listener on loopback, logged in as the
// connection with the caller's own token as the password, so it is decided, held, masked and recorded
// exactly as an OpenSSH client's exec is (src/protocols/ssh): no PTY, no shell, no forwarding, one exec
// channel per call. The listener's host key is the gateway's own (data_dir), checked, so the token is
// only ever offered to this gateway. Output is bounded; a command past the bound is stopped.
import ssh2 from "ssh2";
import { readHostPublicKey } from "../../net/ssh-host-key.ts";
import type { HeldNotice } from "./sql-tool.ts";
import type { ExecArgs } from "./tool-args.ts";
import { MAX_RESULT_BYTES } from "./tools.ts";

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: string | null;
  truncated: boolean;
}

export type ExecOutcome = { ok: true; result: ExecResult } | { ok: false; error: string };

// What the SSH listener writes to stderr while it holds a command (ssh/session.ts run()).
const HELD = /^custos: request (\S+)\. (.*)$/m;
const CONNECT_TIMEOUT_MS = 10_000;
// What it writes when it refuses one (ssh/wire-error.ts refusalText), with exit status 126.
const REFUSED = /^custos: denied by ([\w.]+): /m;

/** The rule the SSH listener named when it refused the command (exit status 126), if it did. */
export function sshRefusalRule(stderr: string): string | undefined {
  return REFUSED.exec(stderr)?.[1];
}

export interface LoopbackSsh {
  port: number;
  credential: string;
  dataDir: string;
}

export function runExec(
  ssh: LoopbackSsh,
  connection: string,
  args: ExecArgs,
  held: (notice: HeldNotice) => void,
  signal: AbortSignal,
): Promise<ExecOutcome> {
  return new Promise((resolve) => {
    let hostKey: Buffer;
    try {
      hostKey = readHostPublicKey(ssh.dataDir);
    } catch (err) {
      return resolve({ ok: false, error: String(err instanceof Error ? err.message : err) });
    }
    const client = new ssh2.Client();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let truncated = false;
    let heldSeen = false;
    let settled = false;
    const finish = (o: ExecOutcome) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      client.end();
      resolve(o);
    };
    const onAbort = () => finish({ ok: false, error: "cancelled" });
    signal.addEventListener("abort", onAbort, { once: true });
    client.on("error", (e) => finish({ ok: false, error: e.message }));
    client.on("close", () => finish({ ok: false, error: "the SSH connection closed" }));
    client.on("ready", () => {
      client.exec(args.command, (e, channel) => {
        if (e) return finish({ ok: false, error: e.message });
        if (args.stdin !== undefined) channel.end(args.stdin);
        else channel.end();
        const take = (into: Buffer[]) => (chunk: Buffer) => {
          if (truncated) return;
          const room = MAX_RESULT_BYTES - size;
          if (chunk.byteLength > room) {
            into.push(chunk.subarray(0, room));
            size = MAX_RESULT_BYTES;
            truncated = true;
            // Past the bound the command is stopped, not read on without end.
            channel.close();
            return;
          }
          into.push(chunk);
          size += chunk.byteLength;
        };
        const takeErr = take(err);
        channel.on("data", take(out));
        channel.stderr.on("data", (chunk: Buffer) => {
          // The hold notice comes before the command starts; a later look-alike is only output.
          if (!heldSeen && out.length === 0 && size < 4096) {
            const m = HELD.exec(chunk.toString("utf8"));
            if (m) {
              heldSeen = true;
              held({ requestId: m[1]!, message: "held for approval", hint: m[2]!.trim() });
            }
          }
          takeErr(chunk);
        });
        let exitCode: number | null = null;
        let exitSignal: string | null = null;
        channel.on("exit", (code: number | null, sig?: string) => {
          exitCode = typeof code === "number" ? code : null;
          exitSignal = sig ?? null;
        });
        channel.on("close", () =>
          finish({
            ok: true,
            result: {
              stdout: Buffer.concat(out).toString("utf8"),
              stderr: Buffer.concat(err).toString("utf8"),
              exitCode,
              signal: exitSignal,
              truncated,
            },
          }),
        );
      });
    });
    client.connect({
      host: "127.0.0.1",
      port: ssh.port,
      username: connection,
      password: ssh.credential,
      tryKeyboard: false,
      readyTimeout: CONNECT_TIMEOUT_MS,
      hostVerifier: (key: Buffer) => key.equals(hostKey),
    });
  });
}
