// The audit store's tables for SQLite. Kept in lockstep with schema-pg.ts: same tables, columns and keys;
// times are epoch milliseconds in both so rows mean the same everywhere.
import { blob, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

const bytes = (name: string) => blob(name, { mode: "buffer" });

export const auditLogs = sqliteTable("audit_logs", {
  logId: text("log_id").primaryKey(),
  /** Ed25519 public key, raw 32 bytes. */
  publicKey: bytes("public_key").notNull(),
  createdAt: integer("created_at").notNull(),
});

export const auditEvents = sqliteTable(
  "audit_events",
  {
    logId: text("log_id").notNull(),
    seq: integer("seq").notNull(),
    time: integer("time").notNull(),
    type: text("type").notNull(),
    sessionId: text("session_id"),
    body: bytes("body").notNull(),
    leafHash: bytes("leaf_hash").notNull(),
  },
  (t) => [primaryKey({ columns: [t.logId, t.seq] }), index("audit_events_session").on(t.sessionId, t.seq)],
);

export const checkpoints = sqliteTable(
  "checkpoints",
  {
    logId: text("log_id").notNull(),
    size: integer("size").notNull(),
    rootHash: bytes("root_hash").notNull(),
    time: integer("time").notNull(),
    signature: bytes("signature").notNull(),
  },
  (t) => [primaryKey({ columns: [t.logId, t.size] })],
);

export const recordings = sqliteTable(
  "recordings",
  {
    sessionId: text("session_id").notNull(),
    batch: integer("batch").notNull(),
    logId: text("log_id").notNull(),
    /** Seq of the recording.batch event that carries this batch's SHA-256 into the Merkle tree. */
    eventSeq: integer("event_seq").notNull(),
    firstTime: integer("first_time").notNull(),
    frameCount: integer("frame_count").notNull(),
    data: bytes("data").notNull(),
    sha256: bytes("sha256").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.batch] }),
    index("recordings_log_event").on(t.logId, t.eventSeq),
  ],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    logId: text("log_id").notNull(),
    subject: text("subject"),
    issuer: text("issuer"),
    kind: text("kind"),
    connection: text("connection"),
    protocol: text("protocol"),
    targetUser: text("target_user"),
    clientAddr: text("client_addr"),
    application: text("application"),
    startedAt: integer("started_at").notNull(),
    endedAt: integer("ended_at"),
    endReason: text("end_reason"),
    statements: integer("statements").notNull().default(0),
    bytesIn: integer("bytes_in").notNull().default(0),
    bytesOut: integer("bytes_out").notNull().default(0),
  },
  (t) => [index("sessions_started").on(t.startedAt)],
);
