// Chooses what an evidence bundle holds for one log: the events in the time range (narrowed to a
// connection or subject), the checkpoints over them, inclusion proofs of every event against the range's
// last checkpoint, consistency proofs between its checkpoints, and the recordings those events commit.
import type { AuditEvent } from "../../core/audit-event.ts";
import { decodeEvent } from "../codec.ts";
import {
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  nodeHash,
  type SubtreeHash,
  splitPoint,
} from "../merkle.ts";
import type { AuditStore, CheckpointRow, EventRow, RecordingRow } from "../store.ts";

export interface Selection {
  /** Epoch ms, inclusive. */
  from: number;
  to: number;
  connection?: string;
  subject?: string;
  /**
   * Most checkpoints kept for a log (the recorder signs up to one a second): the one before the range and
   * the last always stay, the rest are thinned evenly; consistency proofs chain whichever are kept.
   */
  maxCheckpoints?: number;
}

export interface SelectedEvent {
  row: EventRow;
  event: AuditEvent;
  /** The body is gone (pruned by retention): only its leaf hash, still in the tree, remains. */
  pruned?: true;
}

export interface LogEvidence {
  logId: string;
  publicKey: Uint8Array;
  events: SelectedEvent[];
  /** Ascending by size; the last one is the tree every inclusion proof leads to. */
  checkpoints: CheckpointRow[];
  treeSize: number;
  inclusion: Map<number, Uint8Array[]>;
  consistency: { from: number; to: number; proof: Uint8Array[] }[];
  recordings: RecordingRow[];
  /** Events that matched but lie past the newest checkpoint: no signature covers them yet. */
  unproven: number;
}

const PAGE = 5_000;
/** Events that set the policy in force (kept whatever the connection/subject filter, F3, F13). */
const POLICY_EVENTS = new Set(["gateway.start", "policy.reload"]);

export async function collectLog(
  store: AuditStore,
  log: { logId: string; publicKey: Uint8Array },
  sel: Selection,
): Promise<LogEvidence> {
  const { logId } = log;
  const leaves: Uint8Array[] = [];
  const sessions = new Map<string, { connection: unknown; subject: unknown }>();
  const inRange: SelectedEvent[] = [];
  let policyBefore: SelectedEvent | undefined;
  for (let page = await store.readEvents(logId, 0, PAGE); page.length > 0; ) {
    for (const row of page) {
      if (row.seq !== leaves.length) throw new Error(`log ${logId} has a gap at seq ${leaves.length}`);
      leaves.push(row.leafHash);
      const wantsBody = row.type === "session.start" || row.time >= sel.from || POLICY_EVENTS.has(row.type);
      if (!wantsBody) continue;
      const sel1 = bodyOf(row);
      if (row.type === "session.start" && row.sessionId && !sel1.pruned) {
        sessions.set(row.sessionId, {
          connection: sel1.event.data.connection,
          subject: sel1.event.data.subject,
        });
      }
      if (row.time >= sel.from && row.time <= sel.to) inRange.push(sel1);
      else if (row.time < sel.from && POLICY_EVENTS.has(row.type)) policyBefore = sel1;
    }
    page = await store.readEvents(logId, leaves.length, PAGE);
  }
  const matches = (e: SelectedEvent) => {
    if (!sel.connection && !sel.subject) return true;
    if (POLICY_EVENTS.has(e.row.type)) return true;
    const s = e.row.sessionId ? sessions.get(e.row.sessionId) : undefined;
    const d = e.event.data;
    const connection = s?.connection ?? d.connection;
    const subject = s?.subject ?? d.subject ?? d.requester;
    return (!sel.connection || connection === sel.connection) && (!sel.subject || subject === sel.subject);
  };
  // The bundle in force when the range opens is evidence too (F3): its load event comes along.
  const chosen = [...(policyBefore ? [policyBefore] : []), ...inRange.filter(matches)];

  const cps = (await store.checkpoints(logId)).filter((c) => c.size > 0 && c.size <= leaves.length);
  const last = chosen.at(-1)?.row.seq ?? -1;
  const target = cps.find((c) => c.size > last) ?? cps.at(-1);
  const treeSize = target?.size ?? 0;
  const events = chosen.filter((e) => e.row.seq < treeSize);
  const unproven = chosen.length - events.length;

  // The range's checkpoints, the one before them (the state the range starts from) and the target.
  const included: CheckpointRow[] = [];
  if (target) {
    const firstIn = cps.findIndex((c) => c.time >= sel.from);
    const start = firstIn === -1 ? cps.indexOf(target) : Math.max(0, firstIn - 1);
    for (const c of cps.slice(start)) {
      if (c.size > treeSize) break;
      if (c.time <= sel.to || c === target) included.push(c);
    }
    if (included.at(-1) !== target) included.push(target);
  }
  const kept = thin(included, Math.max(2, sel.maxCheckpoints ?? 1000));

  const mth = memoized(leaves);
  const inclusion = new Map<number, Uint8Array[]>();
  for (const e of events) inclusion.set(e.row.seq, inclusionProof(e.row.seq, treeSize, mth));
  const consistency = kept.slice(1).map((c, i) => {
    const from = kept[i]!.size;
    return { from, to: c.size, proof: consistencyProof(from, c.size, mth) };
  });

  const recordings: RecordingRow[] = [];
  const batchSeqs = new Set(
    events.filter((e) => e.row.type === "recording.batch" && !e.pruned).map((e) => e.row.seq),
  );
  if (batchSeqs.size > 0) {
    const seqs = [...batchSeqs];
    const rows = await store.recordingsByEventSeq(logId, Math.min(...seqs), Math.max(...seqs) + 1);
    for (const r of rows) if (batchSeqs.has(r.eventSeq)) recordings.push(r);
  }
  return {
    logId,
    publicKey: log.publicKey,
    events,
    checkpoints: kept,
    treeSize,
    inclusion,
    consistency,
    recordings,
    unproven,
  };
}

/** The event decoded, or marked pruned when retention removed its body (empty, absent or undecodable). */
function bodyOf(row: EventRow): SelectedEvent {
  const envelope = (): AuditEvent => ({
    type: row.type,
    time: row.time,
    ...(row.sessionId ? { sessionId: row.sessionId } : {}),
    data: {},
  });
  if (!row.body || row.body.length === 0) return { row, event: envelope(), pruned: true };
  try {
    return { row, event: decodeEvent(row.body) };
  } catch {
    return { row, event: envelope(), pruned: true };
  }
}

/** At most `max` of the list, evenly spread, keeping the first and the last. */
function thin<T>(list: T[], max: number): T[] {
  if (list.length <= max) return list;
  const step = (list.length - 1) / (max - 1);
  return Array.from({ length: max }, (_, i) => list[Math.round(i * step)]!);
}

/** MTH over leaves held in memory, each subtree hashed once: proofs for every event stay O(n) in all. */
function memoized(leaves: readonly Uint8Array[]): SubtreeHash {
  const cache = new Map<string, Uint8Array>();
  const mth: SubtreeHash = (start, end) => {
    const n = end - start;
    if (n === 0) return EMPTY_ROOT;
    if (n === 1) {
      const leaf = leaves[start];
      if (!leaf) throw new RangeError(`leaf ${start} not available`);
      return leaf;
    }
    const key = `${start}:${end}`;
    let h = cache.get(key);
    if (!h) {
      const k = splitPoint(n);
      h = nodeHash(mth(start, start + k), mth(start + k, end));
      cache.set(key, h);
    }
    return h;
  };
  return mth;
}
