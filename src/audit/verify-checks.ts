// The checks `audit verify` runs on each event, checkpoint and recording as it streams a log (verify.ts).
import type { AuditEvent } from "../core/audit-event.ts";
import { decodeEvent, hex, sha256 } from "./codec.ts";
import {
  bytesEqual,
  consistencyProof,
  fromLeaves,
  leafHash,
  type MerkleFrontier,
  type SubtreeHash,
  verifyConsistency,
} from "./merkle.ts";
import type { CheckpointRow, EventRow, RecordingRow } from "./store.ts";
import { checkpointMisfit, eventMisfit, recordingMisfit } from "./verify-rows.ts";

export interface VerifyFailure {
  /** The event (seq) or checkpoint (size) where verification first failed. */
  seq?: number;
  size?: number;
  reason: string;
}

export class Failed extends Error {
  constructor(readonly failure: VerifyFailure) {
    super(failure.reason);
  }
}

/** Checks one stored event; returns its decoded body, or null when retention pruned it (leaf hash kept). */
export function checkEvent(e: EventRow, expected: number): AuditEvent | null {
  const misfit = eventMisfit(e);
  if (misfit) {
    const at = Number.isSafeInteger(e.seq) ? e.seq : expected;
    throw new Failed({ seq: at, reason: `seq ${at}: ${misfit}` });
  }
  if (e.seq !== expected) {
    throw new Failed({
      seq: expected,
      reason: `seq ${expected} is missing (next stored is ${e.seq}): an event was deleted or the log renumbered`,
    });
  }
  if (e.prunedAt != null) {
    if (e.body.length !== 0) {
      throw new Failed({ seq: e.seq, reason: `seq ${e.seq} is marked pruned but still has a body` });
    }
    return null;
  }
  const leaf = leafHash(e.body);
  if (!bytesEqual(leaf, e.leafHash)) {
    throw new Failed({
      seq: e.seq,
      reason: `seq ${e.seq} (${e.type}): body does not hash to the stored leaf hash`,
    });
  }
  let decoded: AuditEvent;
  try {
    decoded = decodeEvent(e.body);
  } catch {
    throw new Failed({ seq: e.seq, reason: `seq ${e.seq}: body is not a valid event` });
  }
  const data: unknown = decoded.data;
  if (typeof data !== "object" || data === null || Array.isArray(data) || data instanceof Uint8Array) {
    throw new Failed({
      seq: e.seq,
      reason: `seq ${e.seq}: body is not a valid event (its data is not a map)`,
    });
  }
  if (decoded.type !== e.type || (decoded.sessionId ?? null) !== e.sessionId || decoded.time !== e.time) {
    throw new Failed({
      seq: e.seq,
      reason: `seq ${e.seq}: type, session or time columns differ from the body`,
    });
  }
  return decoded;
}

export interface Covered {
  cp: CheckpointRow;
  frontier: MerkleFrontier;
}

export function checkRoot(
  cp: CheckpointRow,
  frontier: MerkleFrontier,
  prev: Covered | null,
  trusted: boolean,
): void {
  if (!bytesEqual(frontier.root(), cp.rootHash)) {
    const window = prev ? `between seq ${prev.cp.size} and ${cp.size - 1}` : `before seq ${cp.size}`;
    throw new Failed({
      size: cp.size,
      reason: trusted
        ? // Earlier stored checkpoints may have been re-signed over the change: only "before" is certain.
          `the store's log is not the one the trusted checkpoint at size ${cp.size} signed: forked or rewritten before seq ${cp.size}`
        : `root over the first ${cp.size} events differs from the signed checkpoint: an event ${window} was changed, inserted, deleted or reordered`,
    });
  }
  if (prev && cp.time < prev.cp.time) {
    throw new Failed({
      size: cp.size,
      reason: `checkpoint at size ${cp.size} is older than the one before it`,
    });
  }
}

/**
 * RFC 6962 §2.1.2: proves cp extends prev. Subtrees left of prev.size come from prev's frontier, the rest
 * from the leaves appended since; the proof is computed, then checked against both signed roots.
 */
export function checkConsistency(
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

export interface RecordingTally {
  checked: number;
  pruned: number;
}

/**
 * Each recording must match its recording.batch event; each such event must have its recording. A pruned
 * recording keeps its SHA-256, which must still be the event's; a pruned event's recording must be pruned.
 */
export function checkRecordings(
  rows: RecordingRow[],
  events: Map<number, { row: EventRow; decoded: AuditEvent }>,
  prunedEvents: Set<number>,
): RecordingTally {
  const seen = new Set<number>();
  let pruned = 0;
  for (const r of rows) {
    const misfit = recordingMisfit(r);
    if (misfit) {
      throw new Failed({
        ...(Number.isSafeInteger(r.eventSeq) ? { seq: r.eventSeq } : {}),
        reason: `recording ${String(r.sessionId)}#${String(r.batch)}: ${misfit}`,
      });
    }
    if (prunedEvents.has(r.eventSeq)) {
      if (r.prunedAt == null || r.data.length !== 0) {
        throw new Failed({
          seq: r.eventSeq,
          reason: `recording ${r.sessionId}#${r.batch} outlived its pruned event seq ${r.eventSeq}`,
        });
      }
      pruned++;
      continue;
    }
    const e = events.get(r.eventSeq);
    if (!e) {
      throw new Failed({
        seq: r.eventSeq,
        reason: `recording ${r.sessionId}#${r.batch} points at seq ${r.eventSeq}, which is not a recording.batch event`,
      });
    }
    const data = e.decoded.data;
    const digest = r.prunedAt != null && r.data.length === 0 ? hex(r.sha256) : hex(sha256(r.data));
    if (
      data.sha256 !== digest ||
      hex(r.sha256) !== digest ||
      data.batch !== r.batch ||
      e.row.sessionId !== r.sessionId
    ) {
      throw new Failed({
        seq: r.eventSeq,
        reason: `recording ${r.sessionId}#${r.batch} does not match the SHA-256 in seq ${r.eventSeq}`,
      });
    }
    // The frame count the console pages by is committed to by the event too.
    if (data.frames !== undefined && data.frames !== r.frameCount) {
      throw new Failed({
        seq: r.eventSeq,
        reason: `recording ${r.sessionId}#${r.batch} says ${r.frameCount} frames, its event seq ${r.eventSeq} says ${data.frames}`,
      });
    }
    if (r.prunedAt != null) pruned++;
    seen.add(r.eventSeq);
  }
  for (const seq of events.keys()) {
    if (!seen.has(seq))
      throw new Failed({ seq, reason: `seq ${seq} records a batch whose recording is missing` });
  }
  return { checked: rows.length, pruned };
}

/** A stored checkpoint must have the stored types before its signature or root is checked. */
export function checkCheckpointRow(cp: CheckpointRow): void {
  const misfit = checkpointMisfit(cp);
  if (!misfit) return;
  const size = Number.isSafeInteger(cp.size) ? cp.size : undefined;
  throw new Failed({
    ...(size === undefined ? {} : { size }),
    reason: `checkpoint${size === undefined ? "" : ` at size ${size}`}: ${misfit}`,
  });
}
