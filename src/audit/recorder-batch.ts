// How many queued appends the recorder worker commits in one transaction. Bounded by entries (commit latency)
// and by bytes (issue 23: 1,000-row results recorded at ~300 queries/s made entry-bounded batches of
// 100 MB of frames, held in the worker's heap with their joined copies until the commit). Whole messages
// only, and always at least one, so an append larger than a bound is still taken, alone; nothing is ever
// split, dropped or reordered: what is not taken stays queued for the next batch.
import type { AppendMessage } from "./recorder-protocol.ts";

export interface BatchLimits {
  entries: number;
  bytes: number;
}

/** Events + frames per transaction, and their encoded bytes (a single larger append is still taken whole). */
export const BATCH_LIMITS: BatchLimits = { entries: 5_000, bytes: 8 << 20 };

/** Encoded bytes and entries (events + frames) of one append. */
export function appendSize(m: AppendMessage): { entries: number; bytes: number } {
  let bytes = m.events.bytes.byteLength;
  let entries = m.events.ends.length;
  for (const run of m.frames) {
    entries += run.count;
    for (const p of run.parts) bytes += p.byteLength;
  }
  return { entries, bytes };
}

/** The number of messages at the head of the queue that make the next batch. */
export function batchLength(queue: readonly AppendMessage[], limits: BatchLimits = BATCH_LIMITS): number {
  let entries = 0;
  let bytes = 0;
  let n = 0;
  for (const m of queue) {
    if (n > 0 && (entries >= limits.entries || bytes >= limits.bytes)) break;
    const size = appendSize(m);
    // The next message joins only if the batch stays within the bytes bound (the first always goes).
    if (n > 0 && bytes + size.bytes > limits.bytes) break;
    entries += size.entries;
    bytes += size.bytes;
    n++;
  }
  return n;
}
