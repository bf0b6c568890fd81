// PostgreSQL adapter (postgres.js + drizzle-orm/postgres-js): one store shared by several gateways, each
// writing its own log_id. Pending migrations run under an advisory lock so gateways starting together do not
// race; a migrated store opens without the migrator (migration-state.ts).
import { and, asc, count, desc, eq, gt, gte, inArray, isNull, lt, max, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { CustosError } from "../core/errors.ts";
import { projectFile } from "../project-files.ts";
import { decodeEvent, decodeFrames } from "./codec.ts";
import { type JournalEntry, pendingMigrations, readJournal } from "./migration-state.ts";
import { toRanges } from "./prune-claims.ts";
import * as prune from "./prune-sql.ts";
import * as t from "./schema-pg.ts";
import {
  type AuditStore,
  batchRange,
  type CommitBatch,
  chunks,
  foldSessionHeads,
  type StoredEvent,
} from "./store.ts";

const MIGRATIONS = projectFile("src/audit/migrations/pg");
/** Arbitrary constant naming the audit schema migration lock (pg_advisory_lock key). */
const MIGRATION_LOCK = 0x637573746f73; // "custos"

export async function openPostgresStore(url: string): Promise<AuditStore> {
  const client = postgres(url, {
    max: 4,
    connect_timeout: 5,
    idle_timeout: 30,
    onnotice: () => {},
    // Durable before forwarded: a commit must be flushed to WAL before it returns, whatever the server default.
    connection: { application_name: "custos-audit", synchronous_commit: "on" },
  });
  try {
    const db = drizzle({ client, schema: t });
    // A migrated store opens without the migrator, whose CREATE SCHEMA / CREATE TABLE IF NOT EXISTS need
    // CREATE privilege even when nothing is created: the runtime roles only append and read.
    if ((await migrationState(client)).pending.length > 0) await migrateLocked(client, db);
    return postgresStore(client, db);
  } catch (err) {
    await client.end({ timeout: 1 });
    throw err;
  }
}

async function migrationState(client: postgres.Sql): Promise<{ role: string; pending: JournalEntry[] }> {
  const [row] = await client<{ role: string; present: boolean }[]>`
    select current_user as role, to_regclass('drizzle.__drizzle_migrations') is not null as present`;
  let last: number | null = null;
  if (row?.present) {
    const [applied] = await client<{ last: string | null }[]>`
      select max(created_at)::text as last from drizzle.__drizzle_migrations`;
    last = applied?.last == null ? null : Number(applied.last);
  }
  return { role: row?.role ?? "?", pending: pendingMigrations(readJournal(MIGRATIONS), last) };
}

/** Migrates under the advisory lock, unless another gateway or the owner finished while we waited. */
async function migrateLocked(client: postgres.Sql, db: ReturnType<typeof drizzle<typeof t>>): Promise<void> {
  const lock = await client.reserve();
  try {
    await lock`select pg_advisory_lock(${MIGRATION_LOCK})`;
    const { role, pending } = await migrationState(client);
    if (pending.length === 0) return;
    try {
      await migrate(db, { migrationsFolder: MIGRATIONS });
    } catch (err) {
      if (sqlState(err) !== "42501") throw err;
      // Fail closed with what to do: a runtime role (deploy/postgres/audit-store-roles.sql) may not create.
      const tags = pending.map((m) => m.tag);
      throw new CustosError(
        "audit.unavailable",
        [
          `the audit store needs migrating by its owner: ${tags.length} migration(s) pending (${tags.join(", ")})`,
          `and role ${role} may not create objects. The owner migrates with`,
          "CUSTOS_AUDIT_OWNER_URL=postgres://custos_audit_owner:…@host/db custos migrate",
          "--config deploy/postgres/migrate.example.yaml, then runs deploy/postgres/audit-store-roles.sql again",
        ].join(" "),
        { role, pending: tags },
      );
    }
  } finally {
    await lock`select pg_advisory_unlock(${MIGRATION_LOCK})`.catch(() => {});
    lock.release();
  }
}

/** The SQLSTATE of a PostgreSQL error, also when drizzle wrapped it (DrizzleQueryError.cause). */
function sqlState(err: unknown): string | undefined {
  for (let e = err; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

function postgresStore(client: postgres.Sql, db: ReturnType<typeof drizzle<typeof t>>): AuditStore {
  const seqs = async (q: SQL) =>
    ((await db.execute(q)) as unknown as { seq: unknown }[]).map((r) => Number(r.seq));
  const EMPTY = sql`'\\x'::bytea`;
  return {
    dialect: "postgres",

    async ensureLog(logId, publicKey, createdAt) {
      await db.insert(t.auditLogs).values({ logId, publicKey, createdAt }).onConflictDoNothing();
      const [row] = await db.select().from(t.auditLogs).where(eq(t.auditLogs.logId, logId));
      return row!;
    },

    async commit(batch: CommitBatch) {
      await db.transaction(async (tx) => {
        for (const rows of chunks(batch.events, 500)) await tx.insert(t.auditEvents).values(rows);
        for (const rows of chunks(batch.recordings, 200)) await tx.insert(t.recordings).values(rows);
        const starts = batch.sessions.flatMap((s) =>
          s.start ? [{ id: s.id, logId: s.logId, ...s.start }] : [],
        );
        if (starts.length) await tx.insert(t.sessions).values(starts).onConflictDoNothing();
        // One statement for every session's count, not a round trip per session.
        const counted = batch.sessions.filter((s) => s.statements > 0);
        if (counted.length) {
          const rows = sql.join(
            counted.map((s) => sql`(${s.id}, ${s.statements}::int)`),
            sql`, `,
          );
          await tx.execute(
            sql`update sessions set statements = sessions.statements + v.n from (values ${rows}) as v(id, n) where sessions.id = v.id`,
          );
        }
        for (const s of batch.sessions) {
          if (s.end) await tx.update(t.sessions).set(s.end).where(eq(t.sessions.id, s.id));
        }
        if (batch.checkpoint) await tx.insert(t.checkpoints).values(batch.checkpoint);
      });
    },

    async logs() {
      return db.select().from(t.auditLogs).orderBy(asc(t.auditLogs.logId));
    },

    async logSize(logId) {
      const [row] = await db
        .select({ top: max(t.auditEvents.seq) })
        .from(t.auditEvents)
        .where(eq(t.auditEvents.logId, logId));
      // max() of a bigint comes back as a string from postgres.js.
      return row?.top == null ? 0 : Number(row.top) + 1;
    },

    async readEvents(logId, fromSeq, limit) {
      return db
        .select()
        .from(t.auditEvents)
        .where(and(eq(t.auditEvents.logId, logId), gte(t.auditEvents.seq, fromSeq)))
        .orderBy(asc(t.auditEvents.seq))
        .limit(limit);
    },

    async readLeaves(logId, fromSeq, limit) {
      return db
        .select({ seq: t.auditEvents.seq, leafHash: t.auditEvents.leafHash })
        .from(t.auditEvents)
        .where(and(eq(t.auditEvents.logId, logId), gte(t.auditEvents.seq, fromSeq)))
        .orderBy(asc(t.auditEvents.seq))
        .limit(limit);
    },

    async checkpoints(logId) {
      return db
        .select()
        .from(t.checkpoints)
        .where(eq(t.checkpoints.logId, logId))
        .orderBy(asc(t.checkpoints.size));
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
        .orderBy(asc(t.recordings.eventSeq));
    },

    async countRecordings(logId) {
      const [row] = await db.select({ n: count() }).from(t.recordings).where(eq(t.recordings.logId, logId));
      return row?.n ?? 0;
    },

    async listSessions({ limit, before }) {
      return db
        .select()
        .from(t.sessions)
        .where(before === undefined ? undefined : lt(t.sessions.startedAt, before))
        .orderBy(desc(t.sessions.startedAt), desc(t.sessions.id))
        .limit(limit);
    },

    async getSession(id) {
      const [row] = await db.select().from(t.sessions).where(eq(t.sessions.id, id));
      return row;
    },

    async sessionEvents(id) {
      const rows = await db
        .select({ logId: t.auditEvents.logId, seq: t.auditEvents.seq, body: t.auditEvents.body })
        .from(t.auditEvents)
        // Retention emptied a pruned event's body: there is nothing left to decode.
        .where(and(eq(t.auditEvents.sessionId, id), isNull(t.auditEvents.prunedAt)))
        .orderBy(asc(t.auditEvents.seq));
      return rows.map((r): StoredEvent => ({ logId: r.logId, seq: r.seq, ...decodeEvent(r.body) }));
    },

    async sessionFrames(id) {
      const rows = await db
        .select({ data: t.recordings.data })
        .from(t.recordings)
        .where(and(eq(t.recordings.sessionId, id), isNull(t.recordings.prunedAt)))
        .orderBy(asc(t.recordings.batch));
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
        .limit(range.limit);
    },

    async counts() {
      const [row] = await client<{ [k: string]: number }[]>`
        select (select count(*)::int from audit_logs) as logs,
               (select count(*)::int from audit_events) as events,
               (select count(*)::int from checkpoints) as checkpoints,
               (select count(*)::int from recordings) as recordings,
               (select count(*)::int from sessions) as sessions`;
      return {
        logs: row?.logs ?? 0,
        events: row?.events ?? 0,
        checkpoints: row?.checkpoints ?? 0,
        recordings: row?.recordings ?? 0,
        sessions: row?.sessions ?? 0,
      };
    },

    async readSessions(afterId, limit) {
      return db
        .select()
        .from(t.sessions)
        .where(gt(t.sessions.id, afterId))
        .orderBy(asc(t.sessions.id))
        .limit(limit);
    },

    async readApprovals(afterId, limit) {
      const R = t.approvalRequests;
      const rows = await db.select().from(R).where(gt(R.id, afterId)).orderBy(asc(R.id)).limit(limit);
      if (rows.length === 0) return [];
      const D = t.approvalDecisions;
      const decisions = await db
        .select()
        .from(D)
        .where(
          inArray(
            D.requestId,
            rows.map((r) => r.id),
          ),
        );
      return rows.map((request) => ({
        request,
        decisions: decisions.filter((d) => d.requestId === request.id),
      }));
    },

    async sessionHeads(ids) {
      if (ids.length === 0) return new Map();
      const E = t.auditEvents;
      const heads = await db
        .select({ logId: E.logId, seq: E.seq, body: E.body, prunedAt: E.prunedAt, sessionId: E.sessionId })
        .from(E)
        .where(and(inArray(E.sessionId, ids), inArray(E.type, ["session.start", "session.end"])))
        .orderBy(asc(E.seq));
      const counts = await db
        .select({ id: E.sessionId, n: count() })
        .from(E)
        .where(and(inArray(E.sessionId, ids), eq(E.type, "statement")))
        .groupBy(E.sessionId);
      return foldSessionHeads(ids, heads, counts);
    },

    async pruneCandidates(logId, rule, limit) {
      return {
        events: await seqs(prune.eventCandidates(logId, rule, limit)),
        recordings: await seqs(prune.recordingCandidates(logId, rule, limit)),
      };
    },

    async applyPrune(logId, events, recordings, at) {
      let ev = 0;
      let rec = 0;
      await db.transaction(async (tx) => {
        for (const r of events)
          ev += ((await tx.execute(prune.pruneEvents(logId, r, at, EMPTY))) as unknown as { count: number })
            .count;
        for (const r of [...events, ...recordings])
          rec += (
            (await tx.execute(prune.pruneRecordings(logId, r, at, EMPTY))) as unknown as { count: number }
          ).count;
      });
      return { events: ev, recordings: rec };
    },

    async prunedRanges(logId) {
      return {
        events: toRanges(await seqs(prune.prunedEventSeqs(logId))),
        recordings: toRanges(await seqs(prune.prunedRecordingSeqs(logId))),
      };
    },

    async sizeBytes() {
      const [row] = await client<{ bytes: string }[]>`
        select coalesce(sum(pg_total_relation_size(c.oid)), 0)::text as bytes from pg_class c
        where c.relkind = 'r' and c.relname in ('audit_logs', 'audit_events', 'checkpoints', 'recordings',
          'sessions', 'approval_requests', 'approval_decisions') and pg_table_is_visible(c.oid)`;
      return Number(row?.bytes ?? 0);
    },

    async close() {
      await client.end({ timeout: 5 });
    },
  };
}
