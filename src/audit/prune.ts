// Retention (F12): empties the bodies of events and the payloads of recordings past their class's period,
// per connection, keeping every leaf hash and SHA-256, so the tree and every checkpoint still verify. Each
// round first logs an `audit.prune` event naming exactly what it will remove (F11: the removal is itself
// evidence), waits until that event is durable, then removes. Only signed (checkpointed) events are pruned.
import type { AuditEvent } from "../core/audit-event.ts";
import { rangeCount, type SeqRange, toRanges } from "./prune-claims.ts";
import type { Cutoffs, PruneRule } from "./prune-sql.ts";
import type { AuditStore } from "./store.ts";

/** Periods in ms; null keeps that class for ever. */
export interface RetentionPeriods {
  eventsMs: number | null;
  recordingsMs: number | null;
}

export interface RetentionPolicy {
  defaults: RetentionPeriods;
  /** Connections whose retention overrides the default (connections[].retention). */
  connections: { name: string; retention: RetentionPeriods }[];
}

export interface PruneResult {
  logId: string;
  events: number;
  recordings: number;
  /** audit.prune events logged. */
  rounds: number;
}

/** Seqs per audit.prune event: bounds the event's size and the transaction's. */
const ROUND_LIMIT = 5_000;

export function hasRetention(p: RetentionPolicy): boolean {
  const set = (r: RetentionPeriods) => r.eventsMs !== null || r.recordingsMs !== null;
  return set(p.defaults) || p.connections.some((c) => set(c.retention));
}

function cutoffs(r: RetentionPeriods, now: number): Cutoffs {
  return {
    events: r.eventsMs === null ? null : now - r.eventsMs,
    recordings: r.recordingsMs === null ? null : now - r.recordingsMs,
  };
}

/**
 * Prunes `logId` past retention. `record` appends an event to a log (this gateway's, or the CLI's
 * maintenance log) and resolves once it is committed; nothing is removed before it resolves.
 */
export async function pruneLog(
  store: AuditStore,
  logId: string,
  policy: RetentionPolicy,
  record: (e: AuditEvent) => Promise<void>,
  now = Date.now(),
): Promise<PruneResult> {
  const result: PruneResult = { logId, events: 0, recordings: 0, rounds: 0 };
  if (!hasRetention(policy)) return result;
  const signed = (await store.checkpoints(logId)).at(-1)?.size ?? 0;
  const rule: PruneRule = {
    upToSeq: signed,
    defaults: cutoffs(policy.defaults, now),
    connections: policy.connections.map((c) => ({ name: c.name, cutoffs: cutoffs(c.retention, now) })),
  };
  for (;;) {
    const found = await store.pruneCandidates(logId, rule, ROUND_LIMIT);
    if (found.events.length === 0 && found.recordings.length === 0) break;
    const events: SeqRange[] = toRanges(found.events);
    const recordings: SeqRange[] = toRanges(found.recordings);
    await record({
      type: "audit.prune",
      time: Date.now(),
      data: {
        log_id: logId,
        events,
        recordings,
        event_count: rangeCount(events),
        recording_count: rangeCount(recordings),
        up_to_seq: signed,
        cutoffs: { default: rule.defaults, connections: rule.connections },
      },
    });
    const done = await store.applyPrune(logId, events, recordings, Date.now());
    result.events += done.events;
    result.recordings += done.recordings;
    result.rounds++;
    // Nothing changed (another pruner got there first): stop rather than log the same claim again.
    if (done.events === 0 && done.recordings === 0) break;
  }
  return result;
}
