// The relay's plumbing between its two sockets: client messages batched into one write to the server, the
// client byte stream's recording, and the pauses of either socket (backpressure, a full inbox, a recording
// that falls behind).
import type { GatewaySession } from "../../core/session.ts";
import type { Conn } from "../../net/conn.ts";
import { STREAM_KIND } from "./recording.ts";
import type { PostgresTarget } from "./target.ts";

type ClientPause = "backpressure" | "inbox" | "recording";
type UpstreamPause = "backpressure" | "recording" | "masking";

/**
 * Messages for the server that may leave only once a wait resolves: a Sync that commits writes whose records
 * were still being written, and everything the client sent after it, in order.
 */
interface Gate {
  open: boolean;
  bytes: Uint8Array[];
}

export class RelayIo {
  private toServer: Uint8Array[] = [];
  private gates: Gate[] = [];
  /** Messages queued behind gates: past a bound the relay stops reading the client (ENFORCEMENT.md §7). */
  gatedMessages = 0;
  private clientRec: Uint8Array[] = [];
  private clientRecT = 0;
  private pauses = new Set<ClientPause>();
  private upstreamPauses = new Set<UpstreamPause>();
  private recordingWait = false;
  /** Set once the relay stops: late callbacks (durable waits, reviews, catalog lookups) then do nothing. */
  stopped = false;

  constructor(
    private readonly client: Conn,
    private readonly upstream: Conn,
    private readonly gw: GatewaySession<PostgresTarget>,
  ) {}

  send(m: Uint8Array): void {
    const gates = this.gates;
    if (gates.length === 0) this.toServer.push(m);
    else {
      gates[gates.length - 1]!.bytes.push(m);
      this.gatedMessages++;
    }
  }

  /**
   * From here on, messages for the server leave only once `until` resolves, in order. The relay goes on
   * reading and deciding meanwhile, so pipelined Syncs each wait for their own records without stopping the
   * pipeline. When `until` rejects nothing queued behind the gate is ever sent (the caller ends the session).
   */
  gate(until: Promise<void>): void {
    this.flushToServer();
    const gate: Gate = { open: false, bytes: [] };
    this.gates.push(gate);
    until.then(
      () => {
        gate.open = true;
        this.releaseGates();
      },
      () => {
        this.gates = [];
        this.gatedMessages = 0;
      },
    );
  }

  private releaseGates(): void {
    if (this.stopped) return;
    const gates = this.gates;
    let n = 0;
    while (n < gates.length && gates[n]!.open) n++;
    if (n === 0) return;
    const out: Uint8Array[] = [];
    for (let i = 0; i < n; i++) for (const b of gates[i]!.bytes) out.push(b);
    this.gates = gates.slice(n);
    this.gatedMessages -= out.length;
    if (out.length) this.upstream.write(joined(out));
  }

  flushToServer(): void {
    const out = this.toServer;
    if (out.length === 0) return;
    this.toServer = [];
    this.upstream.write(joined(out));
  }

  /**
   * The recording keeps both byte streams exactly as they crossed the gateway (the server's after masking
   * and rewriting), one frame per batch of messages rather than per message: replay decodes them with the
   * codec (recording.ts). A batch is flushed before anything waits on durability, so a held statement's
   * own frame is part of the commit it waits for.
   */
  recordClient(m: Uint8Array, t: number): void {
    if (this.clientRec.length === 0) this.clientRecT = t;
    this.clientRec.push(m);
  }

  flushRecording(): void {
    if (this.clientRec.length === 0) return;
    const parts = this.clientRec;
    this.clientRec = [];
    const bytes = joined(parts);
    this.gw.recordBytes("client", this.clientRecT, STREAM_KIND, bytes);
  }

  /** Resolves when everything recorded so far, the client's pending batch included, is committed. */
  durable(): Promise<void> {
    this.flushRecording();
    return this.gw.durable();
  }

  /** A recording that falls behind pauses both sources until it catches up (bounded memory, nothing lost). */
  watchRecordingBacklog(): void {
    if (this.recordingWait) return;
    const wait = this.gw.recordingBacklog();
    if (!wait) return;
    this.recordingWait = true;
    this.setPaused("recording", true);
    this.setUpstreamPaused("recording", true);
    wait.then(() => {
      this.recordingWait = false;
      if (this.stopped) return;
      this.setPaused("recording", false);
      this.setUpstreamPaused("recording", false);
    });
  }

  /** Reads from the client stop while any reason holds. */
  setPaused(reason: ClientPause, paused: boolean): void {
    const had = this.pauses.size > 0;
    if (paused) this.pauses.add(reason);
    else this.pauses.delete(reason);
    const has = this.pauses.size > 0;
    if (had !== has) has ? this.client.pause() : this.client.resume();
  }

  /** Reads from the server stop while any reason holds. */
  setUpstreamPaused(reason: UpstreamPause, paused: boolean): void {
    const had = this.upstreamPauses.size > 0;
    if (paused) this.upstreamPauses.add(reason);
    else this.upstreamPauses.delete(reason);
    const has = this.upstreamPauses.size > 0;
    if (had !== has) has ? this.upstream.pause() : this.upstream.resume();
  }
}

/**
 * The parts as one array. Messages framed from one chunk are adjacent views of its buffer (a pipelined
 * Parse/Bind/Describe/Execute/Sync usually is), so they are joined as one view, without copying.
 */
function joined(parts: Uint8Array[]): Uint8Array {
  const first = parts[0]!;
  if (parts.length === 1) return first;
  let end = first.byteOffset + first.byteLength;
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    if (p.buffer !== first.buffer || p.byteOffset !== end) return Buffer.concat(parts);
    end += p.byteLength;
  }
  return new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset);
}
