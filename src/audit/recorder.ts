// The session recorder as the gateway sees it: cheap buffered appends on the hot path, durable() for
// "durable before forwarded", and fail-closed state. The store, hashing and signing live in recorder-worker.ts.
import type { AuditEvent } from "../core/audit-event.ts";
import { CustosError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import { COMPILED, projectFile } from "../project-files.ts";
import { ByteSink } from "./canonical.ts";
import type { SignerKeys } from "./checkpoint.ts";
import { writeBytesFrame, writeEvent, writeFrame } from "./codec.ts";
import { FrameSink } from "./recorder-frames.ts";
import type { AppendMessage, EncodedFrameRun, FromWorker, ToWorker } from "./recorder-protocol.ts";
import { LatencyHistogram, type RecorderStats } from "./recorder-stats.ts";
import { type StatementEvent, writeStatementEvent } from "./statement-event.ts";
import { type CheckpointRow, redactUrl } from "./store.ts";

export interface RecorderOptions {
  /** `sqlite:<path>` or `postgres://…` */
  storeUrl: string;
  /** This gateway instance's log; several gateways may share one PostgreSQL store with distinct ids. */
  logId: string;
  /** The gateway's Ed25519 key; copied into the worker, never logged. */
  signer: SignerKeys;
  /** Bound on the delay before a buffered append is committed. */
  flushIntervalMs?: number;
  checkpointIntervalMs?: number;
  /** A commit running longer than this (a hung store) refuses durable() until it completes. Default 2000. */
  commitStallMs?: number;
  /** Events + frames accepted but not committed; past this, appends are refused. */
  maxQueue?: number;
  /** Give up opening the store after this long. */
  startTimeoutMs?: number;
}

export interface RecorderState {
  writable: boolean;
  /** Why not, when not; never holds secrets. */
  reason?: string;
}

interface Waiter {
  upTo: number;
  resolve: () => void;
  reject: (e: CustosError) => void;
}

/** One session's frames since the last hand-over, already encoded. */
interface PendingFrames {
  sink: FrameSink;
  firstT: number;
  count: number;
}

const EVENT_SINK_BYTES = 64 << 10;
const NO_BYTES = new Uint8Array(0);
const FRAME_SINK_BYTES = 2 << 10;

/** Uncommitted recording bytes above which streams are paused, and below which they resume. */
const BACKLOG_HIGH_BYTES = 32 << 20;
const BACKLOG_LOW_BYTES = 8 << 20;

/** Longest a buffered append waits on the calling thread before it is handed to the worker. */
const HANDOFF_MS = 5;

const unavailable = (why: string) => new CustosError("audit.unavailable", `audit store unavailable: ${why}`);

export class Recorder {
  // Appends are encoded here, once, into buffers that are transferred to the worker (not cloned): the
  // bytes hashed and stored are the bytes written now, and the worker never decodes or re-encodes them.
  private eventSink = new ByteSink(EVENT_SINK_BYTES);
  private eventEnds: number[] = [];
  private eventTypes: string[] = [];
  private eventTimes: number[] = [];
  private eventSessions: (string | null)[] = [];
  private frames = new Map<string, PendingFrames>();
  private buffered = 0;
  private scheduled = false;
  private urgentScheduled = false;
  private urgent = false;
  private nextId = 1;
  private committedUpTo = 0;
  private waiters: Waiter[] = [];
  private listeners = new Set<(s: RecorderState) => void>();
  private storeOk = true;
  private reason: string | undefined;
  private closed = false;
  private lastUrgentId = 0;
  private lastNotified = true;
  private inFlight = 0;
  private perMessage = new Map<number, number>();
  /** Payload bytes of frames accepted but not committed (buffered + in flight), for backpressure. */
  private bufferedBytes = 0;
  private inFlightBytes = 0;
  private perMessageBytes = new Map<number, number>();
  private drainWaiters: (() => void)[] = [];
  private counters = {
    committedEvents: 0,
    committedFrames: 0,
    commits: 0,
    failures: 0,
    logSize: 0,
    lastCheckpointSize: null as number | null,
    lastCommitMs: null as number | null,
  };
  private latency = new LatencyHistogram();
  private closing: ((ok: boolean, message?: string) => void) | null = null;
  private checkpointListeners = new Set<(cp: CheckpointRow, publicKey: Uint8Array) => void>();
  /** The newest checkpoint of this log (stored before start, or signed since), and the key it is under. */
  latestCheckpoint: CheckpointRow | null = null;
  publicKey: Uint8Array = new Uint8Array(0);

  private constructor(
    private worker: Worker,
    readonly logId: string,
    private maxQueue: number,
  ) {}

  /** Opens the store and the log in a worker; rejects with audit.unavailable if it cannot (fail closed). */
  static async start(opts: RecorderOptions): Promise<Recorder> {
    // In the executable the worker is its own entry point (scripts/build-binary), bundled to .js.
    const worker = new Worker(
      COMPILED
        ? projectFile("src/audit/recorder-worker.js")
        : new URL("./recorder-worker.ts", import.meta.url).href,
    );
    const rec = new Recorder(worker, opts.logId, opts.maxQueue ?? 100_000);
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(unavailable(`store did not open within ${opts.startTimeoutMs ?? 30_000} ms`)),
        opts.startTimeoutMs ?? 30_000,
      );
      worker.onmessage = (ev: MessageEvent<FromWorker>) => {
        const m = ev.data;
        if (m.op === "ready") {
          clearTimeout(timer);
          rec.counters.logSize = m.logSize;
          rec.latestCheckpoint = m.latestCheckpoint;
          rec.publicKey = m.publicKey;
          worker.onmessage = (e: MessageEvent<FromWorker>) => rec.onWorker(e.data);
          resolve();
        } else if (m.op === "init-failed") {
          clearTimeout(timer);
          reject(new CustosError("audit.unavailable", m.message, { store: redactUrl(opts.storeUrl) }));
        }
      };
      worker.onerror = (ev) => {
        clearTimeout(timer);
        reject(unavailable(`recorder worker failed: ${ev.message}`));
      };
    });
    const init: ToWorker = {
      op: "init",
      storeUrl: opts.storeUrl,
      logId: opts.logId,
      keys: opts.signer,
      flushIntervalMs: opts.flushIntervalMs ?? 20,
      checkpointIntervalMs: opts.checkpointIntervalMs ?? 1000,
      commitStallMs: opts.commitStallMs ?? 2000,
    };
    worker.postMessage(init);
    try {
      await ready;
    } catch (err) {
      worker.terminate();
      throw err;
    }
    worker.onerror = (ev) => rec.crashed(ev.message);
    return rec;
  }

  /** Buffers an audit event. Throws audit.unavailable when the queue is full or the recorder closed. */
  event(e: AuditEvent): void {
    this.admit();
    writeEvent(this.eventSink, e);
    this.buffer(e);
  }

  /** event() for a statement's completion, encoded field by field (statement-event.ts): the same bytes. */
  statement(e: StatementEvent): void {
    this.admit();
    writeStatementEvent(this.eventSink, e);
    this.buffer(e);
  }

  private buffer(e: AuditEvent): void {
    this.eventEnds.push(this.eventSink.used);
    this.eventTypes.push(e.type);
    this.eventTimes.push(e.time);
    this.eventSessions.push(e.sessionId ?? null);
    this.buffered++;
    this.schedule();
  }

  /**
   * Buffers one frame of a session's recording. Throws like event(). `bytes` is the frame's payload size,
   * which backlogged() weighs so that a fast stream is slowed down before memory grows.
   */
  frame(sessionId: string, f: Frame, bytes = 0): void {
    writeFrame(this.pendingFrames(sessionId, f.t, bytes), f);
  }

  /** frame() for a stretch of a byte stream, `{t, dir, kind, data: {bytes}}`, without the frame object. */
  bytesFrame(sessionId: string, t: number, dir: Frame["dir"], kind: string, bytes: Uint8Array): void {
    writeBytesFrame(this.pendingFrames(sessionId, t, bytes.length), t, dir, kind, bytes);
  }

  /** Admits one frame of `sessionId` and returns the sink it is to be written to. */
  private pendingFrames(sessionId: string, t: number, bytes: number): ByteSink {
    this.admit();
    this.bufferedBytes += bytes;
    let pending = this.frames.get(sessionId);
    if (!pending) {
      pending = { sink: new FrameSink(FRAME_SINK_BYTES), firstT: t, count: 0 };
      this.frames.set(sessionId, pending);
    }
    pending.count++;
    this.buffered++;
    this.schedule();
    return pending.sink;
  }

  /**
   * Resolves once everything appended before the call is committed. Callers waiting at the same moment
   * share one commit. Rejects with audit.unavailable while the store cannot be written.
   */
  durable(): Promise<void> {
    if (this.closed) return Promise.reject(unavailable("recorder closed"));
    if (!this.storeOk) return Promise.reject(unavailable(this.reason ?? "store not writable"));
    const upTo = this.buffered > 0 ? this.nextId : this.nextId - 1;
    if (upTo <= this.committedUpTo) return Promise.resolve();
    // Already posted as a buffered append: an empty urgent one makes the worker commit it now.
    if (this.buffered > 0 || this.lastUrgentId < upTo) {
      this.urgent = true;
      this.schedule();
    }
    return new Promise((resolve, reject) => this.waiters.push({ upTo, resolve, reject }));
  }

  /**
   * Null when the recorder keeps up; otherwise a promise that resolves once the backlog has drained below
   * the low-water marks. Streams pause their sources meanwhile, so a relay never outruns its recording.
   */
  whenDrained(): Promise<void> | null {
    const entries = this.queueDepth();
    const bytes = this.bufferedBytes + this.inFlightBytes;
    if (entries < this.maxQueue / 4 && bytes < BACKLOG_HIGH_BYTES) return null;
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private releaseDrainWaiters(): void {
    if (this.drainWaiters.length === 0) return;
    const low =
      this.queueDepth() < this.maxQueue / 10 && this.bufferedBytes + this.inFlightBytes < BACKLOG_LOW_BYTES;
    if (!low && !this.closed) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }

  /** False while the store cannot be written or the queue is full: refuse new sessions and statements. */
  writable(): boolean {
    return this.storeOk && !this.closed && this.queueDepth() < this.maxQueue;
  }

  /**
   * Called on the calling thread with every checkpoint once it is committed (anchors publish it); called at
   * once with the newest stored one, if any, so an anchor starts from where the log is.
   */
  onCheckpoint(cb: (cp: CheckpointRow, publicKey: Uint8Array) => void): () => void {
    this.checkpointListeners.add(cb);
    if (this.latestCheckpoint) cb(this.latestCheckpoint, this.publicKey);
    return () => this.checkpointListeners.delete(cb);
  }

  onStateChange(cb: (s: RecorderState) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  stats(): RecorderStats {
    return {
      queueDepth: this.queueDepth(),
      ...this.counters,
      writable: this.writable(),
      commitLatencyMs: { p50: this.latency.quantile(0.5), p99: this.latency.quantile(0.99) },
      commitLatencyHistogram: this.latency.snapshot(),
    };
  }

  /** Flushes everything, writes the final checkpoint and stops the worker. Rejects if anything was lost. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.buffered > 0) this.post(false);
    this.closed = true;
    const result = await new Promise<{ ok: boolean; message?: string }>((resolve) => {
      this.closing = (ok, message) => resolve(message === undefined ? { ok } : { ok, message });
      this.worker.postMessage({ op: "close" } satisfies ToWorker);
    });
    this.worker.terminate();
    this.failWaiters(unavailable("recorder closed"));
    if (!result.ok) throw unavailable(result.message ?? "close failed");
  }

  private queueDepth(): number {
    return this.buffered + this.inFlight;
  }

  private admit(): void {
    if (this.closed) throw unavailable("recorder closed");
    if (this.queueDepth() >= this.maxQueue) {
      this.notify();
      throw unavailable(`queue full (${this.maxQueue} entries not yet committed)`);
    }
  }

  private schedule(): void {
    if (this.urgent && !this.urgentScheduled) {
      // Someone waits on durable(): hand over at the end of this tick, with everything appended in it.
      this.urgentScheduled = true;
      setImmediate(() => {
        this.urgentScheduled = false;
        if (this.urgent && !this.closed) this.post(true);
      });
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // Buffered appends are handed to the worker every few milliseconds, not every tick: under load a tick
    // carries one or two entries, and a postMessage per tick (a structured clone and a worker wake-up)
    // cost more than the entries themselves. The worker's own flush interval bounds the delay anyway.
    setTimeout(() => {
      this.scheduled = false;
      if ((this.buffered > 0 || this.urgent) && !this.closed) this.post(this.urgent);
    }, HANDOFF_MS);
  }

  private post(urgent: boolean): void {
    const id = this.nextId++;
    // A hand-over with frames only keeps the event buffer (take() would allocate a fresh one every time).
    const hasEvents = this.eventEnds.length > 0;
    const events = {
      bytes: hasEvents ? this.eventSink.take() : NO_BYTES,
      ends: this.eventEnds,
      types: this.eventTypes,
      times: this.eventTimes,
      sessions: this.eventSessions,
    };
    const frames: EncodedFrameRun[] = [];
    const transfer: ArrayBuffer[] = hasEvents ? [events.bytes.buffer as ArrayBuffer] : [];
    for (const [sessionId, p] of this.frames) {
      // The sink is dropped with this hand-over: its parts go as they are, with no fresh buffer behind them.
      const parts = p.sink.parts();
      frames.push({ sessionId, firstT: p.firstT, count: p.count, parts });
      // The small fields' parts are views of the sink's one buffer: it is listed once (a buffer listed
      // twice fails the hand-over); every long payload's part has a buffer of its own.
      const shared = p.sink.bytes.buffer;
      for (const part of parts) if (part.buffer !== shared) transfer.push(part.buffer as ArrayBuffer);
      transfer.push(shared as ArrayBuffer);
    }
    const msg: AppendMessage = { op: "append", id, events, frames, urgent };
    if (urgent) this.lastUrgentId = id;
    this.perMessage.set(id, this.buffered);
    this.inFlight += this.buffered;
    this.perMessageBytes.set(id, this.bufferedBytes);
    this.inFlightBytes += this.bufferedBytes;
    this.bufferedBytes = 0;
    this.eventEnds = [];
    this.eventTypes = [];
    this.eventTimes = [];
    this.eventSessions = [];
    this.frames = new Map();
    this.buffered = 0;
    this.urgent = false;
    // Everything in it is bytes, numbers and strings, encoded at append time: it always clones.
    this.worker.postMessage(msg, transfer);
  }

  private onWorker(m: FromWorker): void {
    switch (m.op) {
      case "committed": {
        for (let id = this.committedUpTo + 1; id <= m.upTo; id++) {
          this.inFlight -= this.perMessage.get(id) ?? 0;
          this.perMessage.delete(id);
          this.inFlightBytes -= this.perMessageBytes.get(id) ?? 0;
          this.perMessageBytes.delete(id);
        }
        // A checkpoint-only commit (the timer firing on an idle queue) reports upTo 0: never move back,
        // or a later durable() would wait for messages already committed, forever.
        this.committedUpTo = Math.max(this.committedUpTo, m.upTo);
        const c = this.counters;
        if (m.latencyMs >= 0) {
          c.commits++;
          c.lastCommitMs = m.latencyMs;
          this.latency.add(m.latencyMs);
        }
        c.committedEvents += m.events;
        c.committedFrames += m.frames;
        c.logSize = m.logSize;
        if (m.checkpointSize !== null) c.lastCheckpointSize = m.checkpointSize;
        if (m.checkpoint) {
          this.latestCheckpoint = m.checkpoint;
          for (const l of this.checkpointListeners) l(m.checkpoint, this.publicKey);
        }
        const still: Waiter[] = [];
        for (const w of this.waiters) w.upTo <= m.upTo ? w.resolve() : still.push(w);
        this.waiters = still;
        this.storeOk = true;
        this.reason = undefined;
        this.notify();
        this.releaseDrainWaiters();
        break;
      }
      case "unwritable":
        this.counters.failures++;
        this.storeOk = false;
        this.reason = m.message;
        this.notify();
        this.failWaiters(unavailable(m.message));
        break;
      case "closed":
        this.closing?.(m.ok, m.message);
        break;
    }
  }

  private crashed(message: string): void {
    this.storeOk = false;
    this.reason = `recorder worker failed: ${message}`;
    this.notify();
    this.failWaiters(unavailable(`recorder worker failed: ${message}`));
    this.closing?.(false, message);
  }

  private failWaiters(err: CustosError): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(err);
  }

  private notify(): void {
    const writable = this.writable();
    if (writable === this.lastNotified) return;
    this.lastNotified = writable;
    const state: RecorderState = { writable };
    if (!writable) {
      state.reason = this.closed
        ? "recorder closed"
        : !this.storeOk
          ? (this.reason ?? "store not writable")
          : `audit queue full (${this.maxQueue} entries not yet committed)`;
    }
    for (const cb of this.listeners) cb(state);
  }
}
