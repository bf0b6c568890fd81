// Relays one decided channel between the client and the target's channel, both ways, with backpressure
// (a `write()` answered false pauses the other side until `drain`; a recording backlog pauses both), every
// byte recorded before it is forwarded, output masked for masked identities, and the exit status (or
// signal) relayed. The client's EOF reaches the target as EOF; the channel closes only after the last
// output was written, so large transfers are never cut short.
import type { Readable, Writable } from "node:stream";
import type { ClientChannel, ServerChannel } from "ssh2";
import { nowMicros } from "../../core/clock.ts";
import type { GatewaySession, SessionStats } from "../../core/session.ts";
import type { OutputMasker } from "./mask.ts";

export interface RelayOptions {
  session: GatewaySession;
  stats: SessionStats;
  /** Frame kind for the client's input, or null when input is not recorded as terminal input. */
  inputKind: "term.in" | "exec.stdin";
  maskers: { stdout: OutputMasker; stderr: OutputMasker } | null;
  /** Called on every byte either way (the idle time-out's clock). */
  activity(): void;
}

export interface RelayResult {
  code: number | null;
  signal: string | null;
  bytesOut: number;
  bytesErr: number;
  bytesIn: number;
  /** Why output was cut (a mask failure), or null. */
  error: string | null;
}

export function relayChannel(
  client: ServerChannel,
  up: ClientChannel,
  o: RelayOptions,
): Promise<RelayResult> {
  const result: RelayResult = { code: null, signal: null, bytesOut: 0, bytesErr: 0, bytesIn: 0, error: null };
  const { session, stats } = o;
  return new Promise((resolve) => {
    let finished = false;
    const upGate = gate(up, up.stderr);
    const clientGate = gate(client);
    // The recording's backlog pauses the side that produced it until the recorder catches up.
    const backlog = (g: Gate) => {
      const wait = session.recordingBacklog();
      if (wait) {
        g.hold();
        wait.then(g.release, g.release);
      }
    };

    const toClient = (sink: Writable, kind: "term.out" | "term.err", chunk: Uint8Array) => {
      if (chunk.length === 0) return;
      session.recordBytes("server", nowMicros(), kind, chunk);
      stats.bytesToClient += chunk.length;
      if (!sink.write(chunk)) {
        upGate.hold();
        client.once("drain", upGate.release);
      }
      backlog(upGate);
    };
    const fromUpstream = (kind: "term.out" | "term.err", raw: Buffer) => {
      o.activity();
      if (kind === "term.out") result.bytesOut += raw.length;
      else result.bytesErr += raw.length;
      const masker = o.maskers ? (kind === "term.out" ? o.maskers.stdout : o.maskers.stderr) : null;
      let chunk: Uint8Array = raw;
      if (masker) {
        try {
          chunk = masker.push(raw);
        } catch (err) {
          // Fail closed: what cannot be masked is not sent; the command is ended.
          result.error = err instanceof Error ? err.message : String(err);
          up.close();
          return;
        }
      }
      toClient(kind === "term.out" ? client : client.stderr, kind, chunk);
    };
    up.on("data", (d: Buffer) => fromUpstream("term.out", d));
    up.stderr.on("data", (d: Buffer) => fromUpstream("term.err", d));
    up.on("exit", (code: number | null, signal?: string) => {
      if (typeof code === "number") result.code = code;
      else if (signal) result.signal = signal;
    });

    client.on("data", (d: Buffer) => {
      o.activity();
      result.bytesIn += d.length;
      stats.bytesFromClient += d.length;
      session.recordBytes("client", nowMicros(), o.inputKind, d);
      if (!up.write(d)) {
        clientGate.hold();
        up.once("drain", clientGate.release);
      }
      backlog(clientGate);
    });
    client.on("end", () => up.end());

    const finish = () => {
      if (finished) return;
      finished = true;
      if (o.maskers && result.error === null) {
        try {
          toClient(client, "term.out", o.maskers.stdout.end());
          toClient(client.stderr, "term.err", o.maskers.stderr.end());
        } catch (err) {
          result.error = err instanceof Error ? err.message : String(err);
        }
      }
      if (result.error !== null) {
        client.stderr.write(`custos: output stopped: ${result.error}\r\n`);
        result.code = null;
        result.signal = null;
        client.exit(255);
      } else if (result.signal !== null) client.exit(result.signal.replace(/^SIG/, ""), false, "");
      else if (result.code !== null) client.exit(result.code);
      session.record({
        t: nowMicros(),
        dir: "server",
        kind: "ssh.exit",
        data: { code: result.code, signal: result.signal, error: result.error },
      });
      client.end();
      resolve(result);
    };
    up.on("close", finish);
    client.on("close", () => {
      if (!finished) up.close();
    });
  });
}

export interface Gate {
  hold(): void;
  release(): void;
}

/** A reader paused for several reasons at once resumes when the last one is gone. */
export function gate(...streams: Readable[]): Gate {
  let holds = 0;
  return {
    hold() {
      if (holds++ === 0) for (const s of streams) s.pause();
    },
    release() {
      if (--holds === 0) for (const s of streams) s.resume();
    },
  };
}
