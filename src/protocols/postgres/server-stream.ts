// The server → client path of a relay. Every server message is tracked (paired with its command); the chunk
// goes out as it came unless some message in it may be rewritten (a refusal's error, masked rows, the
// answers to the gateway's own requests), in which case each message is processed before it goes out.
// Both paths record what the client receives, and hold it back while a `record: sync` command's outcome
// is not yet durable.
import { nowMicros } from "../../core/clock.ts";
import { CustosError } from "../../core/errors.ts";
import type { GatewaySession, SessionStats } from "../../core/session.ts";
import type { Conn } from "../../net/conn.ts";
import * as codec from "./codec.ts";
import { parameterProblem } from "./parameter-watch.ts";
import { STREAM_KIND } from "./recording.ts";
import { asProtocolError } from "./refusals.ts";
import type { RelayIo } from "./relay-io.ts";
import { type CommandMask, maskingFailure, type ResultMasking } from "./result-masking.ts";
import { ChunkWriter } from "./row-writer.ts";
import type { PostgresTarget } from "./target.ts";
import type { Tracked } from "./tracked.ts";
import type { ResponseTracker } from "./tracker.ts";

export interface ServerStreamDeps {
  client: Conn;
  gw: GatewaySession<PostgresTarget>;
  io: RelayIo;
  tracker: ResponseTracker<Tracked>;
  masking: ResultMasking | null;
  /** The relay's counters: this path adds bytesToClient. */
  stats: SessionStats;
  maxServerMessage: number;
  /** The cap once the session is masked: its messages are buffered whole to be masked. */
  maxMaskedServerMessage: number;
  onFatal(err: CustosError): void;
}

// Server messages a masked session may receive: each is masked (T, D, d, H, E, N, A), carries no values
// (C, Z, 1, 2, 3, n, s, I, t, G, c) or is checked (S). Anything else (FunctionCallResponse 'V',
// CopyBothResponse 'W', a type added later) ends the session rather than reach a masked client raw.
/** A DataRow or CopyData pending beyond this on the fast path is passed through, not assembled. */
const STREAM_OVER = 1 << 20;

const MASKABLE = new Set(Array.from("TDdHENACZ123nsItSGc", (c) => c.charCodeAt(0)));

export class ServerStream {
  private readonly client: Conn;
  private readonly gw: GatewaySession<PostgresTarget>;
  private readonly io: RelayIo;
  private readonly tracker: ResponseTracker<Tracked>;
  private readonly framer: codec.MessageFramer;
  /** Server messages framed but not yet processed (masking waits for a catalog lookup). */
  private serverQueue: Uint8Array[] = [];
  private serverQueueHead = 0;
  /** Bytes of the first queued message already forwarded raw. */
  private serverQueueSent = 0;
  private serverHold = false;
  /** Bytes of the framer's partial message already forwarded raw to the client. */
  private forwardedPrefix = 0;
  /** Bytes of the framer's partial message not yet forwarded. */
  private held = 0;
  /**
   * Server bytes held back while the statement event of a completed `record: sync` command is being
   * committed: the client learns the outcome only once its audit record is durable. Null when not holding.
   */
  private ackHold: Uint8Array[] | null = null;
  private ackWaits = 0;
  /** Refusals forwarded whose provoked error has not come back yet: their errors must be rewritten. */
  refusalsPending = 0;
  lastActivity = Date.now();
  /**
   * Set once a command of the session had its results masked: from then on every server message goes
   * through processServer, so asynchronous ones (notifications, notices) are masked too.
   */
  private masked = false;
  /** A server message the session must end on (a ParameterStatus the parser cannot work under). */
  private alarm: CustosError | null = null;

  constructor(private readonly deps: ServerStreamDeps) {
    this.client = deps.client;
    this.gw = deps.gw;
    this.io = deps.io;
    this.tracker = deps.tracker;
    this.framer = new codec.MessageFramer(deps.maxServerMessage);
  }

  /** Passes a command's masking state through, noting that the session is masked (see `masked`). */
  masks<T>(mask: T): T {
    if (mask && !this.masked) {
      this.masked = true;
      this.framer.maxMessage = Math.min(this.deps.maxServerMessage, this.deps.maxMaskedServerMessage);
    }
    return mask;
  }

  /** True while server bytes wait for a durable record. */
  get holding(): boolean {
    return this.ackHold !== null;
  }

  onServerData(chunk: Uint8Array): void {
    this.deps.stats.bytesToClient += chunk.length;
    this.lastActivity = Date.now();
    const t = nowMicros();
    const quiet = this.tracker.special === 0 && this.refusalsPending === 0 && !this.masked;
    if (quiet && this.held === 0 && !this.serverHold && this.serverQueueHead === this.serverQueue.length) {
      // Fast path: nothing to rewrite, so the chunk goes out as it came; a copy of the messages is tracked
      // first, since completing a `record: sync` command in it holds the chunk until the record is durable.
      this.framer.push(chunk, (type, m) => this.observeServer(type, m, t));
      if (this.alarm) return this.deps.onFatal(this.alarm);
      // A large row or COPY chunk on this path is passed through as it arrives rather than assembled: no
      // one reads it whole, and keeping it would cost its size in memory and one copy at the end.
      const pending = this.framer.pendingType;
      if (this.framer.buffered >= STREAM_OVER && (pending === 0x44 /* D */ || pending === 0x64) /* d */)
        this.framer.skipPending();
      this.forwardedPrefix = this.framer.buffered;
      this.gw.recordBytes("server", t, STREAM_KIND, chunk);
      this.toClient(chunk);
      this.io.watchRecordingBacklog();
      return;
    }
    // Message mode: each message is processed (and possibly rewritten) before it goes out; a message whose
    // masking waits for the catalog holds the rest of the stream, in order, with upstream reads paused.
    let completedAny = false;
    const passed: Uint8Array[] = [];
    this.framer.push(
      chunk,
      (type, m) => {
        if (codec.isSkipped(m)) {
          // The rest of a message the fast path began passing through (skipPending): its bytes went out
          // as they came (below), and it precedes everything queued, so it is only tracked.
          this.observeServer(type, m, t);
          this.forwardedPrefix = 0;
          return;
        }
        if (!completedAny && this.forwardedPrefix > 0) {
          if (this.serverQueueHead === this.serverQueue.length) this.serverQueueSent = this.forwardedPrefix;
        }
        this.serverQueue.push(m);
        completedAny = true;
      },
      (bytes) => passed.push(bytes),
    );
    if (passed.length) {
      const bytes = passed.length === 1 ? passed[0]! : Buffer.concat(passed);
      this.gw.recordBytes("server", t, STREAM_KIND, bytes);
      this.toClient(bytes);
    }
    if (this.framer.skipping) {
      this.forwardedPrefix = this.framer.buffered;
      this.held = 0;
    } else if (completedAny) {
      this.forwardedPrefix = 0;
      this.held = this.framer.buffered;
    } else {
      this.held = this.framer.buffered - this.forwardedPrefix;
    }
    this.drainServer(t);
  }

  private drainServer(t: number): void {
    if (this.serverHold) return;
    // Everything this drain forwards goes out as one write: one buffer for the chunk, masked rows written
    // straight into it (row-writer.ts).
    let w: ChunkWriter | null = null;
    let single: Uint8Array | null = null;
    while (this.serverQueueHead < this.serverQueue.length) {
      const m = this.serverQueue[this.serverQueueHead]!;
      if (m[0] === 0x44 /* D */ && this.serverQueueSent === 0) {
        const mask = this.tracker.current()?.mask as CommandMask | null | undefined;
        if (mask?.masker && this.deps.masking) {
          w ??= this.writer(single);
          single = null;
          this.tracker.onServerMessage(0x44, m);
          mask.maskRowInto(m, w);
          this.serverQueueHead++;
          continue;
        }
      }
      const processed = this.processServer(m, t);
      if (this.alarm) return this.deps.onFatal(this.alarm);
      if (processed instanceof Promise) {
        this.serverHold = true;
        this.io.setUpstreamPaused("masking", true);
        processed.then(
          () => {
            this.serverHold = false;
            if (this.io.stopped) return;
            this.io.setUpstreamPaused("masking", false);
            try {
              this.drainServer(nowMicros());
            } catch (err) {
              this.deps.onFatal(asProtocolError(err));
            }
          },
          (err) => this.deps.onFatal(maskingFailure(err)),
        );
        break;
      }
      this.serverQueueHead++;
      if (processed.length === 0) continue;
      const sent = this.serverQueueSent;
      this.serverQueueSent = 0;
      const part = sent ? processed.subarray(sent) : processed;
      if (w) w.append(part);
      else if (single === null) single = part;
      else {
        w = this.writer(single);
        single = null;
        w.append(part);
      }
    }
    if (this.serverQueueHead === this.serverQueue.length) {
      this.serverQueue = [];
      this.serverQueueHead = 0;
    }
    const bytes = w ? w.bytes() : single;
    if (bytes?.length) {
      this.gw.recordBytes("server", t, STREAM_KIND, bytes);
      this.toClient(bytes);
    }
    this.io.watchRecordingBacklog();
  }

  /** A writer for this drain, sized for the messages still queued, holding `first` when given. */
  private writer(first: Uint8Array | null): ChunkWriter {
    let size = first?.length ?? 0;
    for (let i = this.serverQueueHead; i < this.serverQueue.length; i++) size += this.serverQueue[i]!.length;
    const w = new ChunkWriter(size + (size >> 3));
    if (first) w.append(first);
    return w;
  }

  /**
   * Masks, records and tracks one server message in message mode. Returns what to forward (possibly the
   * same bytes, or SWALLOW), or a promise when the message must wait for masking to be prepared.
   */
  private processServer(m: Uint8Array, t: number): Uint8Array | Promise<void> {
    const type = m[0]!;
    const mask = this.tracker.current()?.mask as CommandMask | null | undefined;
    const masking = this.deps.masking;
    let out = m;
    if (this.masked && masking) {
      if (!MASKABLE.has(type)) {
        throw new CustosError(
          "protocol.unsupported",
          `the server sent a message ('${String.fromCharCode(type)}') that cannot be masked for this session`,
        );
      }
      if (type === 0x41 /* A NotificationResponse */) {
        const masked = masking.maskNotification(m);
        if (!masked) throw new CustosError("upstream.protocol", "malformed NotificationResponse");
        out = masked;
      } else if (!mask && (type === 0x45 /* E */ || type === 0x4e) /* N */) {
        out = masking.maskNotice(m);
      }
    }
    if (mask && masking) {
      if (type === 0x54 /* T */) {
        const pending = masking.describe(mask, m);
        if (pending) return pending;
      } else if (type === 0x44 /* D */) {
        out = mask.masker ? mask.maskRow(m) : withheldRow(m);
      } else if (type === 0x64 /* d CopyData */) {
        out = mask.maskCopyData(m);
      } else if (type === 0x48 /* H CopyOutResponse */) {
        mask.startCopy(m);
      } else if (type === 0x45 /* E */ || type === 0x4e /* N */) {
        out = mask.maskNotice(m);
      }
    }
    const replacement = this.observeServer(type, out, t);
    return replacement ?? out;
  }

  /** Records and tracks one server message; returns its replacement when it must be rewritten. */
  private observeServer(type: number, m: Uint8Array, _t: number): Uint8Array | null {
    if (type === 0x53 /* S ParameterStatus */) this.alarm ??= parameterProblem(m);
    return this.tracker.onServerMessage(type, m);
  }

  /** Everything the client receives goes through here, so a hold for durability catches it all. */
  toClient(bytes: Uint8Array): void {
    if (this.ackHold) this.ackHold.push(bytes);
    else this.client.write(bytes);
  }

  /** Holds server bytes until everything recorded so far (the statement event included) is committed. */
  holdUntilDurable(): void {
    this.ackWaits++;
    this.ackHold ??= [];
    this.io.durable().then(
      () => {
        if (--this.ackWaits > 0 || this.io.stopped) return;
        const held = this.ackHold ?? [];
        this.ackHold = null;
        if (held.length) this.client.write(held.length === 1 ? held[0]! : Buffer.concat(held));
      },
      // The command ran but its outcome cannot be recorded: the client is not told it succeeded.
      () =>
        this.deps.onFatal(
          new CustosError("audit.unavailable", "audit store unavailable: the outcome could not be recorded"),
        ),
    );
  }
}

/** A row whose masking could not be prepared: every value NULL, so nothing unmasked leaves (fail closed). */
function withheldRow(m: Uint8Array): Uint8Array {
  const n = codec.readInt16(m, 5);
  const w = new codec.Writer().int16(n);
  for (let i = 0; i < n; i++) w.int32(-1);
  return w.finish("D");
}
