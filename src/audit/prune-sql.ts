// The retention queries, written once for both stores (drizzle's sql template renders either dialect):
// which events and recordings are past their cutoff (per connection, through the sessions table), and the
// updates that empty their bodies while leaving leaf hashes, SHA-256s and every other column in place.
import { type SQL, sql } from "drizzle-orm";
import type { SeqRange } from "./prune-claims.ts";

/** Epoch-ms cutoffs: what is older than a cutoff is pruned; null keeps it for ever. */
export interface Cutoffs {
  events: number | null;
  recordings: number | null;
}

export interface PruneRule {
  /** Only seqs below this (the last checkpoint: what is pruned was signed first). */
  upToSeq: number;
  defaults: Cutoffs;
  connections: { name: string; cutoffs: Cutoffs }[];
}

/** Event types never pruned: the prune claims themselves (verify needs them to accept what was pruned). */
export const NEVER_PRUNED = ["audit.prune"];

function classCondition(rule: PruneRule, pick: (c: Cutoffs) => number | null, time: SQL): SQL {
  const overridden = rule.connections.map((c) => c.name);
  const parts: SQL[] = [];
  for (const c of rule.connections) {
    const cut = pick(c.cutoffs);
    if (cut !== null) parts.push(sql`(s.connection = ${c.name} and ${time} < ${cut})`);
  }
  const def = pick(rule.defaults);
  if (def !== null) {
    const others =
      overridden.length === 0
        ? sql`true`
        : sql`(s.connection is null or s.connection not in (${sql.join(
            overridden.map((n) => sql`${n}`),
            sql`, `,
          )}))`;
    parts.push(sql`(${others} and ${time} < ${def})`);
  }
  return parts.length === 0 ? sql`false` : sql`(${sql.join(parts, sql` or `)})`;
}

export function eventCandidates(logId: string, rule: PruneRule, limit: number): SQL {
  return sql`select e.seq as seq from audit_events e left join sessions s on s.id = e.session_id
    where e.log_id = ${logId} and e.seq < ${rule.upToSeq} and e.pruned_at is null
      and e.type not in (${sql.join(
        NEVER_PRUNED.map((t) => sql`${t}`),
        sql`, `,
      )})
      and ${classCondition(rule, (c) => c.events, sql`e.time`)}
    order by e.seq limit ${limit}`;
}

/** A recording goes when its class's recordings cutoff passes, or its event's does (whichever is first). */
export function recordingCandidates(logId: string, rule: PruneRule, limit: number): SQL {
  const later = (c: Cutoffs) =>
    c.recordings === null ? c.events : c.events === null ? c.recordings : Math.max(c.recordings, c.events);
  return sql`select r.event_seq as seq from recordings r
      join audit_events e on e.log_id = r.log_id and e.seq = r.event_seq
      left join sessions s on s.id = r.session_id
    where r.log_id = ${logId} and r.event_seq < ${rule.upToSeq} and r.pruned_at is null
      and ${classCondition(rule, later, sql`e.time`)}
    order by r.event_seq limit ${limit}`;
}

export function pruneEvents(logId: string, [from, to]: SeqRange, at: number, empty: SQL): SQL {
  return sql`update audit_events set body = ${empty}, pruned_at = ${at}
    where log_id = ${logId} and seq >= ${from} and seq < ${to} and pruned_at is null`;
}

export function pruneRecordings(logId: string, [from, to]: SeqRange, at: number, empty: SQL): SQL {
  return sql`update recordings set data = ${empty}, pruned_at = ${at}
    where log_id = ${logId} and event_seq >= ${from} and event_seq < ${to} and pruned_at is null`;
}

export function prunedEventSeqs(logId: string): SQL {
  return sql`select seq from audit_events where log_id = ${logId} and pruned_at is not null order by seq`;
}

export function prunedRecordingSeqs(logId: string): SQL {
  return sql`select event_seq as seq from recordings where log_id = ${logId} and pruned_at is not null order by event_seq`;
}
