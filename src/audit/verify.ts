// `audit verify`: recomputes every leaf and root from the stored bodies, checks seqs are contiguous, every
// checkpoint's signature and that each checkpoint extends the previous one (with an RFC 6962 consistency
// proof), and every recording against the SHA-256 its recording.batch event carries. Streams in pages.
import { verifyCheckpoint } from "./checkpoint.ts";
import { decodeEvent, hex, sha256 } from "./codec.ts";
import {
  bytesEqual,
  consistencyProof,
  fromLeaves,
  leafHash,
  MerkleFrontier,
  type SubtreeHash,
  verifyConsistency,
} from "./merkle.ts";
import type { AuditStore, CheckpointRow, EventRow, RecordingRow } from "./store.ts";

export interface VerifyFailure {
  /** The event (seq) or checkpoint (size) where verification first failed. */
  seq?: number;
  size?: number;
  reason: string;
}

export interface LogReport {
  logId: string;
  events: number;
  checkpoints: number;
  recordings: number;
  /** Events after the last checkpoint: intact as far as leaves go, but not yet covered by a signature. */
  uncheckpointed: number;
  ok: boolean;
  firstFailure?: VerifyFailure;
}

export interface VerifyReport {
  ok: boolean;
  logs: LogReport[];
}

export interface VerifyOptions {
  /** The gateway key the auditor trusts; a stored key that differs fails the log. */
  trustedPublicKey?: Uint8Array;
  /** Only these logs (default: every log in the store). */
  logIds?: string[];
  pageSize?: number;
}

export async function verifyLog(store: AuditStore, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const logs = (await store.logs()).filter((l) => !opts.logIds || opts.logIds.includes(l.logId));
  const reports: LogReport[] = [];
  for (const log of logs) reports.push(await verifyOne(store, log.logId, log.publicKey, opts));
  for (const id of opts.logIds ?? []) {
    if (!logs.some((l) => l.logId === id)) {
      reports.push({ ...empty(id), ok: false, firstFailure: { reason: `log ${id} not found in the store` } });
    }
  }
  return { ok: reports.every((r) => r.ok), logs: reports };
}

const empty = (logId: string): LogReport => ({
  logId,
  events: 0,
  checkpoints: 0,
  recordings: 0,
  uncheckpointed: 0,
  ok: true,
});

class Failed extends Error {
  constructor(readonly failure: VerifyFailure) {
    super(failure.reason);
  }
}

async function verifyOne(
  store: AuditStore,
  logId: string,
  publicKey: Uint8Array,
  opts: VerifyOptions,
): Promise<LogReport> {
  const report = empty(logId);
  const pageSize = opts.pageSize ?? 5_000;
  try {
    if (opts.trustedPublicKey && !bytesEqual(opts.trustedPublicKey, publicKey)) {
      throw new Failed({ reason: `stored public key ${hex(publicKey)} is not the trusted key` });
    }
    const cps = await store.checkpoints(logId);
    report.checkpoints = cps.length;
    const signed = async (cp: CheckpointRow) => {
      if (!(await verifyCheckpoint(publicKey, cp))) {
        throw new Failed({
          size: cp.size,
          reason: `checkpoint at size ${cp.size}: signature does not verify`,
        });
      }
    };
    const frontier = new MerkleFrontier();
    // Leaves since the previous checkpoint: the consistency proof needs the subtrees right of its size.
    let sinceCheckpoint: Uint8Array[] = [];
    let prev: { cp: CheckpointRow; frontier: MerkleFrontier } | null = null;
    let next = 0;
    while (next < cps.length && cps[next]!.size === 0) next++;
    for (let page = await store.readEvents(logId, 0, pageSize); page.length > 0; ) {
      const from = frontier.size;
      const recordingEvents = new Map<number, EventRow>();
      for (const e of page) {
        checkEvent(e, frontier.size);
        if (e.type === "recording.batch") recordingEvents.set(e.seq, e);
        frontier.append(e.leafHash);
        sinceCheckpoint.push(e.leafHash);
        const cp = cps[next];
        if (cp && cp.size === frontier.size) {
          await signed(cp);
          checkRoot(cp, frontier, prev);
          if (prev) checkConsistency(prev.cp, prev.frontier, cp, sinceCheckpoint);
          prev = { cp, frontier: frontier.clone() };
          sinceCheckpoint = [];
          next++;
        }
      }
      report.recordings += checkRecordings(
        await store.recordingsByEventSeq(logId, from, frontier.size),
        recordingEvents,
      );
      page = await store.readEvents(logId, frontier.size, pageSize);
    }
    report.events = frontier.size;
    const beyond = cps[next];
    if (beyond) {
      await signed(beyond);
      throw new Failed({
        size: beyond.size,
        reason: `checkpoint at size ${beyond.size} but the log ends at ${frontier.size}: events were deleted from the tail`,
      });
    }
    report.uncheckpointed = frontier.size - (prev?.cp.size ?? 0);
    const stored = await store.countRecordings(logId);
    if (stored !== report.recordings) {
      throw new Failed({
        reason: `${stored - report.recordings} recording(s) have no recording.batch event in the log`,
      });
    }
  } catch (err) {
    if (!(err instanceof Failed)) throw err;
    report.ok = false;
    report.firstFailure = err.failure;
  }
  return report;
}

function checkEvent(e: EventRow, expected: number): void {
  if (e.seq !== expected) {
    throw new Failed({
      seq: expected,
      reason: `seq ${expected} is missing (next stored is ${e.seq}): an event was deleted or the log renumbered`,
    });
  }
  const leaf = leafHash(e.body);
  if (!bytesEqual(leaf, e.leafHash)) {
    throw new Failed({
      seq: e.seq,
      reason: `seq ${e.seq} (${e.type}): body does not hash to the stored leaf hash`,
    });
  }
  let decoded: ReturnType<typeof decodeEvent>;
  try {
    decoded = decodeEvent(e.body);
  } catch {
    throw new Failed({ seq: e.seq, reason: `seq ${e.seq}: body is not a valid event` });
  }
  if (decoded.type !== e.type || (decoded.sessionId ?? null) !== e.sessionId || decoded.time !== e.time) {
    throw new Failed({
      seq: e.seq,
      reason: `seq ${e.seq}: type, session or time columns differ from the body`,
    });
  }
}

function checkRoot(
  cp: CheckpointRow,
  frontier: MerkleFrontier,
  prev: { cp: CheckpointRow; frontier: MerkleFrontier } | null,
): void {
  if (!bytesEqual(frontier.root(), cp.rootHash)) {
    const window = prev ? `between seq ${prev.cp.size} and ${cp.size - 1}` : `before seq ${cp.size}`;
    throw new Failed({
      size: cp.size,
      reason: `root over the first ${cp.size} events differs from the signed checkpoint: an event ${window} was changed, inserted, deleted or reordered`,
    });
  }
  if (prev && cp.time < prev.cp.time) {
    throw new Failed({
      size: cp.size,
      reason: `checkpoint at size ${cp.size} is older than the one before it`,
    });
  }
}

/** Proves cp extends prev: subtrees left of prev.size come from prev's frontier, the rest from new leaves. */
function checkConsistency(
  prev: CheckpointRow,
  prevFrontier: MerkleFrontier,
  cp: CheckpointRow,
  newLeaves: Uint8Array[],
): void {
  const known = new Map(prevFrontier.ranges().map(([s, e, h]) => [`${s}:${e}`, h]));
  const right = fromLeaves(newLeaves, prev.size);
  const mth: SubtreeHash = (s, e) => {
    if (s >= prev.size) return right(s, e);
    const h = known.get(`${s}:${e}`);
    if (!h) throw new Error(`consistency proof needs subtree [${s}, ${e}) of the old tree`);
    return h;
  };
  const proof = consistencyProof(prev.size, cp.size, mth);
  if (!verifyConsistency(prev.size, cp.size, prev.rootHash, cp.rootHash, proof)) {
    throw new Failed({
      size: cp.size,
      reason: `checkpoint at size ${cp.size} does not extend the one at ${prev.size}`,
    });
  }
}

/** Each recording must match its recording.batch event; each such event must have its recording. */
function checkRecordings(rows: RecordingRow[], events: Map<number, EventRow>): number {
  const seen = new Set<number>();
  for (const r of rows) {
    const e = events.get(r.eventSeq);
    if (!e) {
      throw new Failed({
        seq: r.eventSeq,
        reason: `recording ${r.sessionId}#${r.batch} points at seq ${r.eventSeq}, which is not a recording.batch event`,
      });
    }
    const data = decodeEvent(e.body).data;
    const digest = hex(sha256(r.data));
    if (
      data.sha256 !== digest ||
      hex(r.sha256) !== digest ||
      data.batch !== r.batch ||
      e.sessionId !== r.sessionId
    ) {
      throw new Failed({
        seq: r.eventSeq,
        reason: `recording ${r.sessionId}#${r.batch} does not match the SHA-256 in seq ${r.eventSeq}`,
      });
    }
    seen.add(r.eventSeq);
  }
  for (const seq of events.keys()) {
    if (!seen.has(seq))
      throw new Failed({ seq, reason: `seq ${seq} records a batch whose recording is missing` });
  }
  return rows.length;
}
