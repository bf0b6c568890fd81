// Relays one decided channel between the client and the target's channel, both ways, with backpressure
// (a write that waits for the client's window pauses the target's side until it is done; a recording
// backlog pauses both), every byte recorded before it is forwarded, output masked for masked identities, and the exit status (or
// signal) relayed. The client's EOF reaches the target as EOF; the channel closes only after the last
// output was written, so large transfers are never cut short.
import type { Readable, Writable } from "node:stream";
import type { ClientChannel, ServerChannel } from "ssh2";
import { nowMicros } from "../../core/clock.ts";
import type { GatewaySession, SessionStats } from "../../core/session.ts";
import { repairWindowResume } from "./channel-writes.ts";
import type { OutputMasker } from "./mask.ts";

export interface RelayOptions {
  session: GatewaySession;
  stats: SessionStats;
  /** Frame kind for the client's input, or null when input is not recorded as terminal input. */
  inputKind: "term.in" | "exec.stdin";
  maskers: { stdout: OutputMasker; stderr: OutputMasker } | null;
  /** Called on every byte either way (the idle time-out's clock). */
  activity(): void;
  /**
   * A TCP forward's channel: the target's EOF reaches the client as EOF (RFC 4254 §5.3) once what was
   * read before it is written, so a half-closed connection still gets its answer. Session channels do
   * not: their end waits for the exit status and any output a masker still holds.
   */
  halfClose?: boolean;
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

    repairWindowResume(client);
    // Writes to the client that wait for window, stdout and stderr together (channel-writes.ts): while
    // one waits, the target's side is paused, so the next write starts only when it is done.
    let waiting = 0;
    let idle: (() => void) | null = null;
    let clientGone = false;
    const toClient = (sink: Writable, kind: "term.out" | "term.err", chunk: Uint8Array) => {
      if (chunk.length === 0 || clientGone) return;
      session.recordBytes("server", nowMicros(), kind, chunk);
      stats.bytesToClient += chunk.length;
      let held = false;
      sink.write(chunk, () => {
        if (!held) return;
        upGate.release();
        if (--waiting === 0 && idle) idle();
      });
      // A write that went out whole left nothing queued; anything queued waits for the client's window.
      if (sink.writableLength > 0) {
        held = true;
        waiting++;
        upGate.hold();
      }
      backlog(upGate);
    };
    const allWritten = () =>
      new Promise<void>((res) => {
        if (waiting === 0 || clientGone || client.destroyed) return res();
        const done = () => {
          idle = null;
          client.off("close", done);
          res();
        };
        idle = done;
        client.once("close", done);
      });
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
    if (o.halfClose && !o.maskers)
      up.once("end", () => {
        void allWritten().then(() => {
          if (!clientGone) client.eof();
        });
      });
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

    const finish = async () => {
      if (finished) return;
      finished = true;
      await allWritten();
      if (o.maskers && result.error === null) {
        try {
          toClient(client, "term.out", o.maskers.stdout.end());
          toClient(client.stderr, "term.err", o.maskers.stderr.end());
        } catch (err) {
          result.error = err instanceof Error ? err.message : String(err);
        }
      }
      if (result.error !== null)
        toClient(client.stderr, "term.err", Buffer.from(`custos: output stopped: ${result.error}\r\n`));
      // The exit status and the close wait until the last output is written (stderr is a stream of its
      // own: the channel's end flushes only stdout), or the client has gone.
      await allWritten();
      report();
      client.end();
      resolve(result);
    };
    const report = () => {
      if (result.error !== null) {
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
    };
    // ssh2 closes the channel once stdout has ended, but stderr's close waits for its own end: output
    // still buffered there (paused by the gate) is read before the relay finishes.
    let open = 2;
    const closed = () => {
      if (--open === 0) void finish();
    };
    up.once("close", closed);
    up.stderr.once("close", closed);
    client.on("close", () => {
      if (finished) return;
      // Writes waiting for a window that will never come are dropped, and the target's side read to its
      // end, so the relay finishes (and the session closes) when a client disconnects mid-output.
      clientGone = true;
      up.close();
      up.resume();
      up.stderr.resume();
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
