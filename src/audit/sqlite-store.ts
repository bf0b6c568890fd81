// SQLite adapter (bun:sqlite + drizzle-orm/bun-sqlite): the embedded default. WAL with synchronous=FULL, so
// a commit that returned survives power loss; one writer (the recorder worker) per file.
import { Database } from "bun:sqlite";
import { closeSync, openSync, statSync } from "node:fs";
import { and, asc, count, desc, eq, gt, gte, inArray, isNull, lt, max, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sqlite";
import { migrate } from "drizzle-orm/bun-sqlite/migrator";
import { getTableConfig, type SQLiteTable } from "drizzle-orm/sqlite-core";
import { projectFile } from "../project-files.ts";
import { decodeEvent, decodeFrames } from "./codec.ts";
import { pendingMigrations, readJournal } from "./migration-state.ts";
import { toRanges } from "./prune-claims.ts";
import * as prune from "./prune-sql.ts";
import * as t from "./schema-sqlite.ts";
import { type WalGuard, walGuard } from "./sqlite-wal-guard.ts";
import {
  type AuditStore,
  batchRange,
  type CommitBatch,
  foldSessionHeads,
  type StoredEvent,
} from "./store.ts";

const MIGRATIONS = projectFile("src/audit/migrations/sqlite");

/**
 * The audit file holds every statement and recording: created 0600 before SQLite opens it (SQLite then
 * gives its -wal and -shm files the same mode). A missing directory is reported by SQLite with the path.
 */
function createPrivate(path: string): void {
  if (path === ":memory:" || path === "") return;
  try {
    closeSync(openSync(path, "wx", 0o600));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    const reason =
      code === "ENOENT" ? "its directory does not exist" : code === "EACCES" ? "permission denied" : "";
    throw new Error(reason ? `${reason} (${code})` : String(err));
  }
}

export function openSqliteStore(path: string, opts: { busyTimeoutMs?: number } = {}): AuditStore {
  const busy = Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5000)) || 0;
  createPrivate(path);
  const client = new Database(path, { create: true, strict: true });
  try {
    // synchronous=FULL: the WAL is fsynced at every commit ("durable before forwarded" needs exactly that).
    // busy_timeout: another process holding the write lock delays a commit this long before it fails.
    client.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = ${busy};`);
    const db = drizzle({ client, schema: t });
    // Embedded, one owner: pending migrations apply here. A migrated file opens without the migrator, as
    // the PostgreSQL store does (migration-state.ts).
    if (pendingMigrations(readJournal(MIGRATIONS), lastApplied(client)).length > 0) {
      migrate(db, { migrationsFolder: MIGRATIONS });
    }
    return sqliteStore(client, db, path, walGuard(path));
  } catch (err) {
    client.close();
    throw err;
  }
}

/** Newest created_at in drizzle's migrations table; null when there is none (a new file). */
function lastApplied(client: Database): number | null {
  const table = client
    .query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'")
    .get();
  if (table === null) return null;
  const row = client.query("SELECT max(created_at) AS last FROM __drizzle_migrations").get() as {
    last: number | string | null;
  } | null;
  return row?.last == null ? null : Number(row.last);
}

/**
 * A prepared multi-use INSERT for one table, its column list taken from the drizzle schema so the hot
 * path stays in lockstep with the migrations. Drizzle's query builder cost ~20 µs a row here, the
 * prepared statement ~3: every statement a session runs becomes a row, so this is the recorder's hot path.
 */
function preparedInsert<T extends SQLiteTable>(
  client: Database,
  table: T,
  keys: (keyof T["$inferInsert"] & string)[],
) {
  const columns = getTableConfig(table).columns;
  const byKey = new Map(
    Object.entries(table).filter(([, v]) => columns.includes(v as never)) as [string, { name: string }][],
  );
  const names = keys.map((k) => {
    const col = byKey.get(k);
    if (!col) throw new Error(`schema has no column ${k} in ${getTableConfig(table).name}`);
    return `"${col.name}"`;
  });
  const stmt = client.prepare(
    `INSERT INTO "${getTableConfig(table).name}" (${names.join(", ")}) VALUES (${keys.map(() => "?").join(", ")})`,
  );
  const n = keys.length;
  // Byte columns are bound as they come: bun:sqlite binds a Uint8Array view as a blob of exactly its bytes
  // (the conformance suite stores views into larger buffers and reads them back). The Buffer wrapper this
  // used to make per byte column, and keys.map's closure, were ~1.2 µs of ~4 per row.
  return (row: Record<string, unknown>) => {
    const values = new Array(n);
    for (let i = 0; i < n; i++) values[i] = row[keys[i]!] ?? null;
    stmt.run(...(values as never[]));
  };
}

function sqliteStore(
  client: Database,
  db: ReturnType<typeof drizzle<typeof t>>,
  path: string,
  wal: WalGuard,
): AuditStore {
  const seqs = (q: SQL) => db.all<{ seq: number }>(q).map((r) => Number(r.seq));
  const EMPTY = sql`x''`;
  const insertEvent = preparedInsert(client, t.auditEvents, [
    "logId",
    "seq",
    "time",
    "type",
    "sessionId",
    "body",
    "leafHash",
  ]);
  const insertRecording = preparedInsert(client, t.recordings, [
    "sessionId",
    "batch",
    "logId",
    "eventSeq",
    "firstTime",
    "frameCount",
    "data",
    "sha256",
  ]);
  // The sessions projection, once per session per commit: prepared, since under a write load (a durable
  // commit per transaction) the query builder cost as much as the inserts of the whole batch.
  const ph = (name: string) => sql.placeholder(name);
  const startSession = db
    .insert(t.sessions)
    .values({
      id: ph("id"),
      logId: ph("logId"),
      subject: ph("subject"),
      issuer: ph("issuer"),
      kind: ph("kind"),
      connection: ph("connection"),
      protocol: ph("protocol"),
      targetUser: ph("targetUser"),
      clientAddr: ph("clientAddr"),
      application: ph("application"),
      startedAt: ph("startedAt"),
    })
    .onConflictDoNothing()
    .prepare();
  const countStatements = db
    .update(t.sessions)
    .set({ statements: sql`${t.sessions.statements} + ${ph("n")}` })
    .where(eq(t.sessions.id, ph("id")))
    .prepare();
  const endSession = db
    .update(t.sessions)
    .set({
      endedAt: sql`${ph("endedAt")}`,
      endReason: sql`${ph("endReason")}`,
      bytesIn: sql`${ph("bytesIn")}`,
      bytesOut: sql`${ph("bytesOut")}`,
    })
    .where(eq(t.sessions.id, ph("id")))
    .prepare();
  const insertCheckpoint = preparedInsert(client, t.checkpoints, [
    "logId",
    "size",
    "rootHash",
    "time",
    "signature",
  ]);
  // bun:sqlite's own transaction wrapper, made once: prepared BEGIN/COMMIT/ROLLBACK (rolled back on a throw).
  // Drizzle's db.transaction built a transaction object and its query builder per call, ~15 µs of the
  // recorder worker's CPU on every durable commit (one per autocommit write).
  const writeBatch = client.transaction((batch: CommitBatch) => {
    for (const row of batch.events) insertEvent(row);
    for (const row of batch.recordings) insertRecording(row);
    for (const s of batch.sessions) {
      if (s.start) startSession.run({ id: s.id, logId: s.logId, ...s.start });
      if (s.statements > 0) countStatements.run({ id: s.id, n: s.statements });
      if (s.end) endSession.run({ id: s.id, ...s.end });
    }
    if (batch.checkpoint) insertCheckpoint(batch.checkpoint);
  });
  return {
    dialect: "sqlite",

    async ensureLog(logId, publicKey, createdAt) {
      db.insert(t.auditLogs)
        .values({ logId, publicKey: Buffer.from(publicKey), createdAt })
        .onConflictDoNothing()
        .run();
      return db.select().from(t.auditLogs).where(eq(t.auditLogs.logId, logId)).get()!;
    },

    async commit(batch: CommitBatch) {
      // Before: nothing is written to a lost -wal. After: a commit lost while it ran is not reported durable.
      wal.check();
      writeBatch(batch);
      wal.check();
    },

    async logs() {
      return db.select().from(t.auditLogs).orderBy(asc(t.auditLogs.logId)).all();
    },

    async logSize(logId) {
      const row = db
        .select({ top: max(t.auditEvents.seq) })
        .from(t.auditEvents)
        .where(eq(t.auditEvents.logId, logId))
        .get();
      return row?.top == null ? 0 : row.top + 1;
    },

    async readEvents(logId, fromSeq, limit) {
      return db
        .select()
        .from(t.auditEvents)
        .where(and(eq(t.auditEvents.logId, logId), gte(t.auditEvents.seq, fromSeq)))
        .orderBy(asc(t.auditEvents.seq))
        .limit(limit)
        .all();
    },

    async readLeaves(logId, fromSeq, limit) {
      return db
        .select({ seq: t.auditEvents.seq, leafHash: t.auditEvents.leafHash })
        .from(t.auditEvents)
        .where(and(eq(t.auditEvents.logId, logId), gte(t.auditEvents.seq, fromSeq)))
        .orderBy(asc(t.auditEvents.seq))
        .limit(limit)
        .all();
    },

    async checkpoints(logId) {
      return db
        .select()
        .from(t.checkpoints)
        .where(eq(t.checkpoints.logId, logId))
        .orderBy(asc(t.checkpoints.size))
        .all();
    },

    async recordingsByEventSeq(logId, fromSeq, toSeq) {
      return db
        .select()
        .from(t.recordings)
        .where(
          and(
            eq(t.recordings.logId, logId),
            gte(t.recordings.eventSeq, fromSeq),
            lt(t.recordings.eventSeq, toSeq),
          ),
        )
        .orderBy(asc(t.recordings.eventSeq))
        .all();
    },

    async countRecordings(logId) {
      return db.select({ n: count() }).from(t.recordings).where(eq(t.recordings.logId, logId)).get()?.n ?? 0;
    },

    async listSessions({ limit, before }) {
      return db
        .select()
        .from(t.sessions)
        .where(before === undefined ? undefined : lt(t.sessions.startedAt, before))
        .orderBy(desc(t.sessions.startedAt), desc(t.sessions.id))
        .limit(limit)
        .all();
    },

    async getSession(id) {
      return db.select().from(t.sessions).where(eq(t.sessions.id, id)).get();
    },

    async sessionEvents(id) {
      const rows = db
        .select({ logId: t.auditEvents.logId, seq: t.auditEvents.seq, body: t.auditEvents.body })
        .from(t.auditEvents)
        // Retention emptied a pruned event's body: there is nothing left to decode.
        .where(and(eq(t.auditEvents.sessionId, id), isNull(t.auditEvents.prunedAt)))
        .orderBy(asc(t.auditEvents.seq))
        .all();
      return rows.map((r): StoredEvent => ({ logId: r.logId, seq: r.seq, ...decodeEvent(r.body) }));
    },

    async sessionFrames(id) {
      const rows = db
        .select({ data: t.recordings.data })
        .from(t.recordings)
        .where(and(eq(t.recordings.sessionId, id), isNull(t.recordings.prunedAt)))
        .orderBy(asc(t.recordings.batch))
        .all();
      return rows.flatMap((r) => decodeFrames(r.data));
    },

    async sessionBatches(id, fromBatch, limit) {
      const range = batchRange(fromBatch, limit);
      return db
        .select()
        .from(t.recordings)
        .where(
          and(
            eq(t.recordings.sessionId, id),
            gte(t.recordings.batch, range.from),
            isNull(t.recordings.prunedAt),
          ),
        )
        .orderBy(asc(t.recordings.batch))
        .limit(range.limit)
        .all();
    },

    async counts() {
      const n = (
        table:
          | typeof t.auditLogs
          | typeof t.auditEvents
          | typeof t.checkpoints
          | typeof t.recordings
          | typeof t.sessions,
      ) => db.select({ n: count() }).from(table).get()?.n ?? 0;
      return {
        logs: n(t.auditLogs),
        events: n(t.auditEvents),
        checkpoints: n(t.checkpoints),
        recordings: n(t.recordings),
        sessions: n(t.sessions),
      };
    },

    async readSessions(afterId, limit) {
      return db
        .select()
        .from(t.sessions)
        .where(gt(t.sessions.id, afterId))
        .orderBy(asc(t.sessions.id))
        .limit(limit)
        .all();
    },

    async readApprovals(afterId, limit) {
      const R = t.approvalRequests;
      const rows = db.select().from(R).where(gt(R.id, afterId)).orderBy(asc(R.id)).limit(limit).all();
      if (rows.length === 0) return [];
      const D = t.approvalDecisions;
      const decisions = db
        .select()
        .from(D)
        .where(
          inArray(
            D.requestId,
            rows.map((r) => r.id),
          ),
        )
        .all();
      return rows.map((request) => ({
        request,
        decisions: decisions.filter((d) => d.requestId === request.id),
      }));
    },

    async sessionHeads(ids) {
      if (ids.length === 0) return new Map();
      const E = t.auditEvents;
      const heads = db
        .select({ logId: E.logId, seq: E.seq, body: E.body, prunedAt: E.prunedAt, sessionId: E.sessionId })
        .from(E)
        .where(and(inArray(E.sessionId, ids), inArray(E.type, ["session.start", "session.end"])))
        .orderBy(asc(E.seq))
        .all();
      const counts = db
        .select({ id: E.sessionId, n: count() })
        .from(E)
        .where(and(inArray(E.sessionId, ids), eq(E.type, "statement")))
        .groupBy(E.sessionId)
        .all();
      return foldSessionHeads(ids, heads, counts);
    },

    async pruneCandidates(logId, rule, limit) {
      return {
        events: seqs(prune.eventCandidates(logId, rule, limit)),
        recordings: seqs(prune.recordingCandidates(logId, rule, limit)),
      };
    },

    async applyPrune(logId, events, recordings, at) {
      let ev = 0;
      let rec = 0;
      wal.check();
      db.transaction(() => {
        for (const r of events)
          ev += (db.run(prune.pruneEvents(logId, r, at, EMPTY)) as unknown as { changes: number }).changes;
        for (const r of [...events, ...recordings])
          rec += (db.run(prune.pruneRecordings(logId, r, at, EMPTY)) as unknown as { changes: number })
            .changes;
      });
      wal.check();
      return { events: ev, recordings: rec };
    },

    async prunedRanges(logId) {
      return {
        events: toRanges(seqs(prune.prunedEventSeqs(logId))),
        recordings: toRanges(seqs(prune.prunedRecordingSeqs(logId))),
      };
    },

    async sizeBytes() {
      const size = (p: string) => {
        try {
          return statSync(p).size;
        } catch {
          return 0;
        }
      };
      return size(path) + size(`${path}-wal`);
    },

    async close() {
      client.close();
    },
  };
}
