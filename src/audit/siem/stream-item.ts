// What a SIEM sink receives: the log's events in seq order, and each signed checkpoint right after the
// event that completed it (checkpoints are anchors: a SIEM holding them can check the log later).
import type { CheckpointRow, EventRow } from "../store.ts";

export type StreamItem =
  | { kind: "event"; logId: string; row: EventRow; data: Record<string, unknown>; session?: SessionContext }
  | { kind: "checkpoint"; logId: string; cp: CheckpointRow; note: string; publicKey: Uint8Array };

/** Who a session's statements belong to, from its session.start (statement events do not repeat it). */
export interface SessionContext {
  subject: string | null;
  issuer: string | null;
  groups: string[];
  kind: string | null;
  connection: string | null;
  protocol: string | null;
  targetUser: string | null;
  targetDatabase: string | null;
  clientAddr: string | null;
  application: string | null;
}

/** The position a sink has reached in one log: events before nextSeq and checkpoints up to checkpointSize. */
export interface Cursor {
  nextSeq: number;
  checkpointSize: number;
}

/**
 * Orders a page of events and the checkpoints not yet delivered: a checkpoint of size n follows event n-1;
 * one whose events were delivered earlier (a checkpoint-only commit) comes first.
 */
export function interleave<E extends { seq: number }, C extends { size: number }>(
  cursor: Cursor,
  events: E[],
  checkpoints: C[],
): ({ event: E } | { checkpoint: C })[] {
  const out: ({ event: E } | { checkpoint: C })[] = [];
  const end = cursor.nextSeq + events.length;
  const pending = checkpoints
    .filter((c) => c.size > cursor.checkpointSize && c.size <= end)
    .sort((a, b) => a.size - b.size);
  let i = 0;
  while (i < pending.length && pending[i]!.size <= cursor.nextSeq) out.push({ checkpoint: pending[i++]! });
  for (const e of events) {
    out.push({ event: e });
    while (i < pending.length && pending[i]!.size === e.seq + 1) out.push({ checkpoint: pending[i++]! });
  }
  return out;
}
