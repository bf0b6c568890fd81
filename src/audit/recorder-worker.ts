// The recorder's worker: owns the store, the Merkle frontier and the checkpoint timer, so commits, hashing,
// signing and msgpack encoding stay off the gateway's hot path. Appends are committed in order; a failed
// batch is retried unchanged with backoff, so nothing accepted is lost or reordered.
/// <reference lib="webworker" />
import { asCustosError } from "../core/errors.ts";
import { startGcPacer } from "../core/gc-pacer.ts";
import { importSigner } from "./checkpoint.ts";
import { type EncodedEvent, type EncodedFrames, LogWriter, type Prepared } from "./log-writer.ts";
import { batchLength } from "./recorder-batch.ts";
import type { AppendMessage, FromWorker, InitMessage, ToWorker } from "./recorder-protocol.ts";
import { type AuditStore, type CheckpointRow, describe, openStore } from "./store.ts";

declare const self: Worker;
const post = (m: FromWorker) => self.postMessage(m);
// The worker's own heap holds every transferred recording until its commit: collected on the same budget.
startGcPacer();

const BACKOFF_MIN_MS = 25;
const BACKOFF_MAX_MS = 2_000;
/** On close, keep retrying a failing store this long before giving up and reporting the loss. */
const CLOSE_DEADLINE_MS = 10_000;

let store: AuditStore;
let writer: LogWriter;
let latest: CheckpointRow | null = null;
let config: InitMessage;
const queue: AppendMessage[] = [];
let inflight: { prepared: Prepared; upTo: number; events: number } | null = null;
let urgent = false;
let flushDue = false;
let checkpointWanted = false;
let closing = false;
let running = false;
let flushTimer: Timer | null = null;
let retryTimer: Timer | null = null;
let checkpointTimer: Timer | null = null;
let backoff = BACKOFF_MIN_MS;
let failingSince = 0;

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  if (m.op === "init") void init(m);
  else if (m.op === "append") append(m);
  else if (m.op === "close") void close();
};

async function init(m: InitMessage): Promise<void> {
  config = m;
  try {
    const signer = await importSigner(m.keys);
    store = await openStore(m.storeUrl);
    writer = await LogWriter.open(store, m.logId, signer);
    latest = (await store.checkpoints(m.logId)).at(-1) ?? null;
  } catch (err) {
    const e = asCustosError(err, "audit.unavailable");
    post({ op: "init-failed", code: e.code, message: e.message });
    return;
  }
  checkpointTimer = setInterval(() => {
    if (writer.checkpointDue || queue.length > 0) {
      checkpointWanted = true;
      void pump();
    }
  }, m.checkpointIntervalMs);
  post({ op: "ready", logSize: writer.size, latestCheckpoint: latest, publicKey: writer.publicKey });
}

function append(m: AppendMessage): void {
  queue.push(m);
  if (m.urgent) {
    urgent = true;
    void pump();
  } else if (!flushTimer) {
    flushTimer = setTimeout(() => {
      flushTimer = null;
      flushDue = true;
      void pump();
    }, config.flushIntervalMs);
  }
}

/** Takes every queued append into one prepared batch: events in arrival order, frames grouped per session. */
async function take(): Promise<NonNullable<typeof inflight>> {
  const events: EncodedEvent[] = [];
  const frames = new Map<string, EncodedFrames>();
  let upTo = 0;
  // Whole messages only (upTo counts messages); a batch bounded by entries and bytes keeps commit latency
  // and the worker's memory bounded under load.
  const taken = batchLength(queue);
  for (let k = 0; k < taken; k++) {
    const m = queue[k]!;
    const { bytes, ends, types, times, sessions } = m.events;
    for (let i = 0, start = 0; i < ends.length; i++) {
      const session = sessions[i];
      const e: EncodedEvent = { type: types[i]!, time: times[i]!, body: bytes.subarray(start, ends[i]) };
      if (session != null) e.sessionId = session;
      events.push(e);
      start = ends[i]!;
    }
    for (const run of m.frames) {
      const have = frames.get(run.sessionId);
      if (have) {
        for (const p of run.parts) have.parts.push(p);
        have.count += run.count;
      } else frames.set(run.sessionId, { firstT: run.firstT, count: run.count, parts: run.parts });
    }
    upTo = m.id;
  }
  queue.splice(0, taken);
  // Work left behind is committed right after this batch, without waiting for another flush.
  urgent = queue.length > 0 && queue.some((m) => m.urgent);
  flushDue = queue.length > 0;
  const wantCheckpoint = checkpointWanted || closing;
  const prepared = await writer.prepare(events, frames, wantCheckpoint);
  if (wantCheckpoint) checkpointWanted = false;
  return { prepared, upTo, events: events.length };
}

async function pump(fromRetry = false): Promise<void> {
  if (running || (retryTimer && !fromRetry)) return;
  running = true;
  try {
    for (;;) {
      if (!inflight) {
        const work = queue.length > 0 && (urgent || flushDue || closing || checkpointWanted);
        const checkpointOnly = queue.length === 0 && (checkpointWanted || closing) && writer.checkpointDue;
        if (!work && !checkpointOnly) {
          checkpointWanted = false;
          if (closing) finish(true);
          break;
        }
        inflight = await take();
      }
      const { batch } = inflight.prepared;
      const empty = batch.events.length === 0 && !batch.checkpoint;
      const started = performance.now();
      // A store that hangs (locked table, half-open connection) must not hold statements forever: past the
      // stall bound the recorder turns unwritable, and writable again when this commit completes.
      const stall = empty
        ? null
        : setTimeout(
            () =>
              post({
                op: "unwritable",
                message: `audit store commit stalled for ${config.commitStallMs} ms`,
                retryInMs: 0,
              }),
            config.commitStallMs,
          );
      try {
        // An empty urgent append (a durable() over appends already queued) needs no transaction of its own.
        if (!empty) await store.commit(batch);
      } catch (err) {
        failed(err);
        return;
      } finally {
        if (stall) clearTimeout(stall);
      }
      const latencyMs = empty ? -1 : performance.now() - started;
      writer.accept(inflight.prepared);
      const { prepared, upTo, events } = inflight;
      inflight = null;
      backoff = BACKOFF_MIN_MS;
      failingSince = 0;
      post({
        op: "committed",
        upTo,
        events,
        frames: prepared.frames,
        latencyMs,
        logSize: writer.size,
        checkpointSize: prepared.batch.checkpoint?.size ?? null,
        checkpoint: prepared.batch.checkpoint ?? null,
      });
    }
  } finally {
    running = false;
  }
}

function failed(err: unknown): void {
  failingSince ||= Date.now();
  post({ op: "unwritable", message: `audit store write failed: ${describe(err)}`, retryInMs: backoff });
  if (closing && Date.now() - failingSince > CLOSE_DEADLINE_MS) {
    finish(false, `audit store unwritable at shutdown: ${describe(err)}`);
    return;
  }
  retryTimer = setTimeout(() => {
    retryTimer = null;
    void pump(true);
  }, backoff);
  backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
}

async function close(): Promise<void> {
  closing = true;
  if (flushTimer) clearTimeout(flushTimer);
  if (checkpointTimer) clearInterval(checkpointTimer);
  if (!store) return finish(true);
  // pump() finishes once everything is committed; a failing store keeps retrying until the deadline.
  if (!retryTimer) await pump();
}

let finished = false;
function finish(ok: boolean, message?: string): void {
  if (finished) return;
  finished = true;
  if (retryTimer) clearTimeout(retryTimer);
  const done = () => post(message === undefined ? { op: "closed", ok } : { op: "closed", ok, message });
  if (store) store.close().then(done, done);
  else done();
}
