// The SIEM cursors in the audit store (table siem_cursors), and the checkpoint reads the streamer needs
// (a range, not every checkpoint of the log). Its own connection beside the recorder's, as approvals do.
import { Database } from "bun:sqlite";
import { and, asc, eq, gt, lte } from "drizzle-orm";
import { drizzle as drizzleSqlite } from "drizzle-orm/bun-sqlite";
import { drizzle as drizzlePg } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as pg from "../schema-pg.ts";
import * as lite from "../schema-sqlite.ts";
import type { CheckpointRow } from "../store.ts";
import { openStore } from "../store.ts";
import type { Cursor } from "./stream-item.ts";

export interface CursorStore {
  get(sink: string, logId: string): Promise<Cursor | null>;
  save(sink: string, logId: string, cursor: Cursor, now?: number): Promise<void>;
  /** Checkpoints with afterSize < size <= upToSize, ascending. */
  checkpoints(logId: string, afterSize: number, upToSize: number): Promise<CheckpointRow[]>;
  close(): Promise<void>;
}

export async function openCursorStore(url: string): Promise<CursorStore> {
  // Opening the audit store once applies its migrations (the embedded store) or checks them (PostgreSQL).
  await (await openStore(url)).close();
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) return pgCursors(url);
  return sqliteCursors(url.replace(/^sqlite:(\/\/)?/, "").split("?")[0] ?? "");
}

function sqliteCursors(path: string): CursorStore {
  const client = new Database(path, { strict: true });
  // synchronous=NORMAL (WAL): a cursor update is not fsynced at commit, so bun:sqlite's synchronous call does
  // not stall the gateway's thread on the disk. Losing the last updates to a power cut only moves a cursor
  // back, which re-delivers (at least once); it never skips an event.
  client.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;");
  const db = drizzleSqlite({ client, schema: lite });
  const C = lite.siemCursors;
  const K = lite.checkpoints;
  return {
    async get(sink, logId) {
      const row = db
        .select()
        .from(C)
        .where(and(eq(C.sink, sink), eq(C.logId, logId)))
        .get();
      return row ? { nextSeq: row.nextSeq, checkpointSize: row.checkpointSize } : null;
    },
    async save(sink, logId, cursor, now = Date.now()) {
      db.insert(C)
        .values({ sink, logId, ...cursor, updatedAt: now })
        .onConflictDoUpdate({ target: [C.sink, C.logId], set: { ...cursor, updatedAt: now } })
        .run();
    },
    async checkpoints(logId, afterSize, upToSize) {
      return db
        .select()
        .from(K)
        .where(and(eq(K.logId, logId), gt(K.size, afterSize), lte(K.size, upToSize)))
        .orderBy(asc(K.size))
        .all()
        .map((r) => ({ ...r, rootHash: new Uint8Array(r.rootHash), signature: new Uint8Array(r.signature) }));
    },
    async close() {
      client.close();
    },
  };
}

function pgCursors(url: string): CursorStore {
  const client = postgres(url, {
    max: 2,
    connect_timeout: 5,
    idle_timeout: 30,
    onnotice: () => {},
    connection: { application_name: "custos-siem", synchronous_commit: "on" },
  });
  const db = drizzlePg({ client, schema: pg });
  const C = pg.siemCursors;
  const K = pg.checkpoints;
  return {
    async get(sink, logId) {
      const [row] = await db
        .select()
        .from(C)
        .where(and(eq(C.sink, sink), eq(C.logId, logId)));
      return row ? { nextSeq: row.nextSeq, checkpointSize: row.checkpointSize } : null;
    },
    async save(sink, logId, cursor, now = Date.now()) {
      await db
        .insert(C)
        .values({ sink, logId, ...cursor, updatedAt: now })
        .onConflictDoUpdate({ target: [C.sink, C.logId], set: { ...cursor, updatedAt: now } });
    },
    async checkpoints(logId, afterSize, upToSize) {
      return db
        .select()
        .from(K)
        .where(and(eq(K.logId, logId), gt(K.size, afterSize), lte(K.size, upToSize)))
        .orderBy(asc(K.size));
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}
