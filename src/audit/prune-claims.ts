// Retention's audit trail: an `audit.prune` event names, before anything is removed, the seq ranges whose
// event bodies (and the recording.batch seqs whose recordings) it is about to prune. Verify accepts a body
// or payload gone only where such a claim covers it, so blanking a row outside retention is tampering.
import type { AuditEvent } from "../core/audit-event.ts";

export type SeqRange = [from: number, to: number];

/** Sorted seqs to half-open ranges: [1,2,3,7] -> [[1,4],[7,8]]. */
export function toRanges(seqs: readonly number[]): SeqRange[] {
  const out: SeqRange[] = [];
  for (const s of [...seqs].sort((a, b) => a - b)) {
    const last = out.at(-1);
    if (last && last[1] === s) last[1] = s + 1;
    else if (!last || s >= last[1]) out.push([s, s + 1]);
  }
  return out;
}

export const rangeCount = (ranges: readonly SeqRange[]) => ranges.reduce((n, [a, b]) => n + (b - a), 0);

function validRanges(v: unknown): SeqRange[] {
  if (!Array.isArray(v)) return [];
  return v.filter(
    (r): r is SeqRange =>
      Array.isArray(r) &&
      r.length === 2 &&
      Number.isSafeInteger(r[0]) &&
      Number.isSafeInteger(r[1]) &&
      r[0] < r[1],
  );
}

export class PruneClaims {
  private events = new Map<string, SeqRange[]>();
  private recordings = new Map<string, SeqRange[]>();

  add(e: AuditEvent): void {
    const d = e.data as Record<string, unknown>;
    const log = typeof d.log_id === "string" ? d.log_id : null;
    if (!log) return;
    push(this.events, log, validRanges(d.events));
    push(this.recordings, log, validRanges(d.recordings));
  }

  /** The first pruned position of `logId` no claim covers, if any. */
  unclaimed(
    logId: string,
    prunedEvents: readonly number[],
    prunedRecordings: readonly number[],
  ): { seq: number; what: string } | null {
    const ev = merged(this.events.get(logId) ?? []);
    for (const s of prunedEvents) if (!covers(ev, s)) return { seq: s, what: "event" };
    const rec = merged([...ev, ...(this.recordings.get(logId) ?? [])]);
    for (const s of prunedRecordings)
      if (!covers(rec, s)) return { seq: s, what: "the recording of the event" };
    return null;
  }
}

function push(map: Map<string, SeqRange[]>, log: string, ranges: SeqRange[]): void {
  if (ranges.length === 0) return;
  const list = map.get(log) ?? [];
  list.push(...ranges);
  map.set(log, list);
}

/** Sorted, non-overlapping: what covers() searches. */
function merged(ranges: readonly SeqRange[]): SeqRange[] {
  const out: SeqRange[] = [];
  for (const [a, b] of [...ranges].sort((x, y) => x[0] - y[0])) {
    const last = out.at(-1);
    if (last && a <= last[1])
      last[1] = Math.max(last[1], b); // `last` is a copy: claims stay as logged
    else out.push([a, b]);
  }
  return out;
}

/** Binary search: a long-lived log has many prune rounds and many pruned seqs. */
function covers(ranges: readonly SeqRange[], s: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = ranges[mid]!;
    if (s < a) hi = mid - 1;
    else if (s >= b) lo = mid + 1;
    else return true;
  }
  return false;
}
