// The audit store: one interface, two thin adapters (sqlite-store.ts, postgres-store.ts) over the same
// lockstep schema. Every write is one transactional commit(batch): one batch, one transaction, one fsync.

import type { AuditEvent } from "../core/audit-event.ts";
import { CustosError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import { decodeEvent } from "./codec.ts";
import type { SeqRange } from "./prune-claims.ts";
import type { PruneRule } from "./prune-sql.ts";
import type * as schema from "./schema-pg.ts";

export type LogRow = typeof schema.auditLogs.$inferSelect;
/** prunedAt is set by retention only (prune); rows being appended leave it out. */
type Prunable<T extends { prunedAt: number | null }> = Omit<T, "prunedAt"> & { prunedAt?: number | null };
export type EventRow = Prunable<typeof schema.auditEvents.$inferSelect>;
export type CheckpointRow = typeof schema.checkpoints.$inferSelect;
export type RecordingRow = Prunable<typeof schema.recordings.$inferSelect>;
export type SessionRow = typeof schema.sessions.$inferSelect;
export type ApprovalRequestRow = typeof schema.approvalRequests.$inferSelect;
export type ApprovalDecisionRow = typeof schema.approvalDecisions.$inferSelect;

/** Changes to one row of the sessions projection, folded from the batch's session events. */
export interface SessionDelta {
  id: string;
  logId: string;
  start?: Omit<SessionRow, "id" | "logId" | "endedAt" | "endReason" | "statements" | "bytesIn" | "bytesOut">;
  /** Statements to add to the running count. */
  statements: number;
  end?: { endedAt: number; endReason: string | null; bytesIn: number; bytesOut: number };
}

export interface CommitBatch {
  logId: string;
  events: EventRow[];
  recordings: RecordingRow[];
  sessions: SessionDelta[];
  checkpoint?: CheckpointRow;
}

export interface StoreCounts {
  logs: number;
  events: number;
  checkpoints: number;
  recordings: number;
  sessions: number;
}

export interface StoredEvent extends AuditEvent {
  logId: string;
  seq: number;
}

export interface AuditStore {
  readonly dialect: "sqlite" | "postgres";
  /** Registers a log with its signing key, or returns the row already stored for that id. */
  ensureLog(logId: string, publicKey: Uint8Array, createdAt: number): Promise<LogRow>;
  /** Writes the whole batch in one transaction, or nothing. */
  commit(batch: CommitBatch): Promise<void>;
  logs(): Promise<LogRow[]>;
  /** Highest seq + 1 (0 for an empty log). */
  logSize(logId: string): Promise<number>;
  readEvents(logId: string, fromSeq: number, limit: number): Promise<EventRow[]>;
  /** Seqs and leaf hashes only: what resuming a log needs, without reading bodies. */
  readLeaves(logId: string, fromSeq: number, limit: number): Promise<Pick<EventRow, "seq" | "leafHash">[]>;
  checkpoints(logId: string): Promise<CheckpointRow[]>;
  /** Recordings whose recording.batch event has fromSeq <= event_seq < toSeq. */
  recordingsByEventSeq(logId: string, fromSeq: number, toSeq: number): Promise<RecordingRow[]>;
  countRecordings(logId: string): Promise<number>;
  /** Newest first; `before` is an exclusive started_at bound in epoch ms, for paging. */
  listSessions(opts: { limit: number; before?: number }): Promise<SessionRow[]>;
  getSession(id: string): Promise<SessionRow | undefined>;
  /** Every event of the session in log order, decoded (statements make the transcript). */
  sessionEvents(id: string): Promise<StoredEvent[]>;
  /** The session's recording, decoded, in batch order. */
  sessionFrames(id: string): Promise<Frame[]>;
  /**
   * The session's stored recording batches with batch >= fromBatch, in batch order, at most `limit` (1..1000)
   * of them, undecoded: lets a reader page through a long recording without loading all of it.
   */
  sessionBatches(id: string, fromBatch: number, limit: number): Promise<RecordingRow[]>;
  counts(): Promise<StoreCounts>;
  /** Every sessions row in id order, after `afterId` (exclusive), at most `limit`: verify's projection pass. */
  readSessions(afterId: string, limit: number): Promise<SessionRow[]>;
  /** Approval requests in id order with their decisions, after `afterId`, at most `limit`. */
  readApprovals(
    afterId: string,
    limit: number,
  ): Promise<{ request: ApprovalRequestRow; decisions: ApprovalDecisionRow[] }[]>;
  /** The events a sessions row is folded from (session.start, session.end) and statement counts, per id. */
  sessionHeads(ids: string[]): Promise<Map<string, SessionHead>>;
  /** Retention: seqs of events, and of recording.batch events whose recording, past their cutoffs. */
  pruneCandidates(
    logId: string,
    rule: PruneRule,
    limit: number,
  ): Promise<{ events: number[]; recordings: number[] }>;
  /** Empties the bodies of these events and the payloads of these recordings (keeping their hashes), in one transaction. */
  applyPrune(
    logId: string,
    events: SeqRange[],
    recordings: SeqRange[],
    at: number,
  ): Promise<{ events: number; recordings: number }>;
  /** What retention removed from a log, as seq ranges (recordings by their recording.batch seq): evidence export marks these. */
  prunedRanges(logId: string): Promise<{ events: SeqRange[]; recordings: SeqRange[] }>;
  /** Bytes the audit tables take on disk (SQLite: the file and its WAL; PostgreSQL: the tables and indexes). */
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}

/** `sqlite:<path>` (or a bare path ending in .db/.sqlite) or `postgres://…` / `postgresql://…`. */
export async function openStore(url: string): Promise<AuditStore> {
  try {
    if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
      const { openPostgresStore } = await import("./postgres-store.ts");
      return await openPostgresStore(url);
    }
    if (url.startsWith("sqlite:") || /\.(db|sqlite3?)$/.test(url)) {
      const { openSqliteStore } = await import("./sqlite-store.ts");
      const [path = "", query = ""] = url.replace(/^sqlite:(\/\/)?/, "").split("?");
      const busy = new URLSearchParams(query).get("busy_timeout");
      return openSqliteStore(path, busy ? { busyTimeoutMs: Number(busy) } : {});
    }
  } catch (err) {
    // Name the store: "unable to open database file" alone does not say which file, or why.
    throw new CustosError(
      "audit.unavailable",
      `audit store ${redactUrl(url)} cannot be opened: ${describe(err)}`,
      { store: redactUrl(url) },
    );
  }
  throw new CustosError("config.invalid", "audit store url must start with sqlite: or postgres://", {
    store: redactUrl(url),
  });
}

/** Store urls may carry a password: only the redacted form is ever logged. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

export function describe(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${msg}${cause}`;
}

/** Most batches one sessionBatches call returns: bounds the memory of one read. */
export const MAX_BATCH_READ = 1000;

/** sessionBatches' arguments, checked the same way by every store. */
export function batchRange(fromBatch: number, limit: number): { from: number; limit: number } {
  if (!Number.isSafeInteger(fromBatch) || fromBatch < 0) {
    throw new CustosError(
      "internal",
      `sessionBatches: fromBatch must be a non-negative integer, got ${fromBatch}`,
    );
  }
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_BATCH_READ) {
    throw new CustosError(
      "internal",
      `sessionBatches: limit must be an integer from 1 to ${MAX_BATCH_READ}, got ${limit}`,
    );
  }
  return { from: fromBatch, limit };
}

/** Inserts in chunks so a big batch stays under the drivers' parameter limits. */
export function chunks<T>(rows: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/** What a sessions row is folded from: its start and end events, its statement count, whether pruned. */
export interface SessionHead {
  events: StoredEvent[];
  statements: number;
  pruned: boolean;
}

/** sessionHeads' result from the rows both stores read (session.start/end in seq order; counts). */
export function foldSessionHeads(
  ids: readonly string[],
  heads: readonly {
    logId: string;
    seq: number;
    body: Uint8Array;
    prunedAt: number | null;
    sessionId: string | null;
  }[],
  counts: readonly { id: string | null; n: number | bigint | string }[],
): Map<string, SessionHead> {
  const out = new Map<string, SessionHead>();
  for (const id of ids) out.set(id, { events: [], statements: 0, pruned: false });
  for (const r of heads) {
    if (r.prunedAt != null) {
      const h = out.get(r.sessionId ?? "");
      if (h) h.pruned = true;
      continue;
    }
    const e: StoredEvent = { logId: r.logId, seq: r.seq, ...decodeEvent(r.body) };
    out.get(e.sessionId ?? "")?.events.push(e);
  }
  for (const c of counts) {
    const h = out.get(c.id ?? "");
    if (h) h.statements = Number(c.n);
  }
  return out;
}
