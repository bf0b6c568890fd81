// Turns accepted events and frames into one CommitBatch: assigns seqs, hashes leaves, groups frames into
// recordings with their recording.batch events, folds the sessions projection, signs checkpoints. Nothing
// here changes state until the store confirms the commit (accept), so a failed batch is retried unchanged.
import type { AuditEvent } from "../core/audit-event.ts";
import { CustosError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import { ByteSink, writeArrayHeader } from "./canonical.ts";
import { type CheckpointSigner, signCheckpoint } from "./checkpoint.ts";
import { decodeEvent, hex, sha256, writeEvent, writeFrame } from "./codec.ts";
import { bytesEqual, leafHash, MerkleFrontier } from "./merkle.ts";
import { sessionEndColumns, sessionStartColumns } from "./projection.ts";
import type {
  AuditStore,
  CheckpointRow,
  CommitBatch,
  EventRow,
  RecordingRow,
  SessionDelta,
} from "./store.ts";

/** Ended sessions keep their batch counter this long, so a late frame cannot reuse a batch number. */
const ENDED_TTL_MS = 60_000;

/** An event as stored: its body already encoded (codec.writeEvent), its columns beside it. */
export interface EncodedEvent {
  type: string;
  time: number;
  sessionId?: string;
  body: Uint8Array;
}

/** One session's frames, each encoded (codec.writeFrame), in parts to be joined under one array header. */
export interface EncodedFrames {
  /** Epoch microseconds of the first frame. */
  firstT: number;
  count: number;
  parts: Uint8Array[];
}

export interface Prepared {
  batch: CommitBatch;
  frontier: MerkleFrontier;
  nextBatch: Map<string, number>;
  ended: string[];
  frames: number;
}

export class LogWriter {
  private nextBatch = new Map<string, number>();
  private endedAt = new Map<string, number>();

  private constructor(
    readonly logId: string,
    private signer: CheckpointSigner,
    private frontier: MerkleFrontier,
    private checkpointed: number,
  ) {}

  /** Opens (or resumes) this gateway's log: registers the key, rebuilds the frontier from stored leaves. */
  static async open(store: AuditStore, logId: string, signer: CheckpointSigner): Promise<LogWriter> {
    const log = await store.ensureLog(logId, signer.publicKey, Date.now());
    if (!bytesEqual(log.publicKey, signer.publicKey)) {
      throw new CustosError("audit.unavailable", `audit log ${logId} was created with a different key`, {
        logId,
      });
    }
    const frontier = new MerkleFrontier();
    for (let page = await store.readLeaves(logId, 0, 20_000); page.length; ) {
      for (const e of page) {
        if (e.seq !== frontier.size) {
          throw new CustosError("audit.unavailable", `audit log ${logId} has a gap at seq ${frontier.size}`, {
            logId,
          });
        }
        frontier.append(e.leafHash);
      }
      page = await store.readLeaves(logId, frontier.size, 20_000);
    }
    const cps = await store.checkpoints(logId);
    return new LogWriter(logId, signer, frontier, cps.at(-1)?.size ?? 0);
  }

  get publicKey(): Uint8Array {
    return this.signer.publicKey;
  }

  get size(): number {
    return this.frontier.size;
  }

  /** True when committed events are not yet covered by a checkpoint. */
  get checkpointDue(): boolean {
    return this.frontier.size > this.checkpointed;
  }

  /**
   * Events and frames as the recorder hands them over (encoded on the calling thread), or as objects (tests,
   * tools), which are encoded here the same way.
   */
  async prepare(
    events: readonly (EncodedEvent | AuditEvent)[],
    frames: ReadonlyMap<string, EncodedFrames | Frame[]>,
    checkpoint: boolean,
    now = Date.now(),
  ): Promise<Prepared> {
    const frontier = this.frontier.clone();
    const nextBatch = new Map<string, number>();
    const rows: EventRow[] = [];
    const recordings: RecordingRow[] = [];
    const sessions = new Map<string, SessionDelta>();
    const ended: string[] = [];
    const push = (e: EncodedEvent) => {
      const leaf = leafHash(e.body);
      rows.push({
        logId: this.logId,
        seq: frontier.size,
        time: e.time,
        type: e.type,
        sessionId: e.sessionId ?? null,
        body: e.body,
        leafHash: leaf,
      });
      frontier.append(leaf);
      if (e.sessionId) project(sessions, this.logId, e, ended);
    };
    for (const e of events) push("body" in e ? e : encoded(e));
    let frameCount = 0;
    for (const [sessionId, given] of frames) {
      const run = Array.isArray(given) ? encodedFrames(given) : given;
      if (run.count === 0) continue;
      const batch = nextBatch.get(sessionId) ?? this.nextBatch.get(sessionId) ?? 0;
      nextBatch.set(sessionId, batch + 1);
      // Stored as canonical msgpack of the frame list: the array header, then the frames as encoded.
      const out = new ByteSink(5 + run.parts.reduce((n, p) => n + p.length, 0));
      writeArrayHeader(out, run.count);
      for (const p of run.parts) out.raw(p);
      const data = out.written();
      const digest = sha256(data);
      recordings.push({
        sessionId,
        batch,
        logId: this.logId,
        eventSeq: frontier.size,
        firstTime: run.firstT,
        frameCount: run.count,
        data,
        sha256: digest,
      });
      frameCount += run.count;
      push(
        encoded({
          type: "recording.batch",
          time: now,
          sessionId,
          data: { batch, frames: run.count, sha256: hex(digest) },
        }),
      );
    }
    let cp: CheckpointRow | undefined;
    if (checkpoint && frontier.size > this.checkpointed) {
      cp = await signCheckpoint(this.signer, this.logId, frontier.size, frontier.root(), now);
    }
    const batch: CommitBatch = {
      logId: this.logId,
      events: rows,
      recordings,
      sessions: [...sessions.values()],
    };
    if (cp) batch.checkpoint = cp;
    return { batch, frontier, nextBatch, ended, frames: frameCount };
  }

  /** The store committed `p`: make it the new state. */
  accept(p: Prepared, now = Date.now()): void {
    this.frontier = p.frontier;
    for (const [s, n] of p.nextBatch) this.nextBatch.set(s, n);
    if (p.batch.checkpoint) this.checkpointed = p.batch.checkpoint.size;
    for (const s of p.ended) this.endedAt.set(s, now);
    for (const [s, at] of this.endedAt) {
      if (now - at < ENDED_TTL_MS) break; // insertion order is end order
      this.endedAt.delete(s);
      this.nextBatch.delete(s);
    }
  }
}

function encoded(e: AuditEvent): EncodedEvent {
  const sink = new ByteSink(256);
  writeEvent(sink, e);
  // written(), not take(): the sink is dropped here, and take() would zero a fresh buffer for nothing
  // (one recording.batch event per session per commit is encoded here, on every durable commit).
  const out: EncodedEvent = { type: e.type, time: e.time, body: sink.written() };
  if (e.sessionId !== undefined) out.sessionId = e.sessionId;
  return out;
}

function encodedFrames(list: Frame[]): EncodedFrames {
  const sink = new ByteSink(1024);
  for (const f of list) writeFrame(sink, f);
  return { firstT: list[0]?.t ?? 0, count: list.length, parts: [sink.take()] };
}

function project(sessions: Map<string, SessionDelta>, logId: string, e: EncodedEvent, ended: string[]): void {
  if (e.type !== "session.start" && e.type !== "statement" && e.type !== "session.end") return;
  const id = e.sessionId!;
  const delta = sessions.get(id) ?? { id, logId, statements: 0 };
  // Only the rare start and end events are decoded; a statement is counted by its type. The columns come
  // from the same fold `audit verify` recomputes them with (projection.ts).
  if (e.type === "statement") delta.statements++;
  else if (e.type === "session.start") delta.start = sessionStartColumns(decodeEvent(e.body).data, e.time);
  else {
    delta.end = sessionEndColumns(decodeEvent(e.body).data, e.time);
    ended.push(id);
  }
  sessions.set(id, delta);
}
