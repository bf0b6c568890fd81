// The audit store's tables for PostgreSQL. Kept in lockstep with schema-sqlite.ts: same tables, columns and
// keys; times are epoch milliseconds (bigint) in both so rows mean the same everywhere.
import { bigint, customType, index, integer, pgTable, primaryKey, text } from "drizzle-orm/pg-core";

const bytes = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => "bytea" });
const millis = (name: string) => bigint(name, { mode: "number" });

export const auditLogs = pgTable("audit_logs", {
  logId: text("log_id").primaryKey(),
  /** Ed25519 public key, raw 32 bytes. */
  publicKey: bytes("public_key").notNull(),
  createdAt: millis("created_at").notNull(),
});

export const auditEvents = pgTable(
  "audit_events",
  {
    logId: text("log_id").notNull(),
    seq: bigint("seq", { mode: "number" }).notNull(),
    time: millis("time").notNull(),
    type: text("type").notNull(),
    sessionId: text("session_id"),
    body: bytes("body").notNull(),
    leafHash: bytes("leaf_hash").notNull(),
  },
  (t) => [primaryKey({ columns: [t.logId, t.seq] }), index("audit_events_session").on(t.sessionId, t.seq)],
);

export const checkpoints = pgTable(
  "checkpoints",
  {
    logId: text("log_id").notNull(),
    size: bigint("size", { mode: "number" }).notNull(),
    rootHash: bytes("root_hash").notNull(),
    time: millis("time").notNull(),
    signature: bytes("signature").notNull(),
  },
  (t) => [primaryKey({ columns: [t.logId, t.size] })],
);

export const recordings = pgTable(
  "recordings",
  {
    sessionId: text("session_id").notNull(),
    batch: integer("batch").notNull(),
    logId: text("log_id").notNull(),
    /** Seq of the recording.batch event that carries this batch's SHA-256 into the Merkle tree. */
    eventSeq: bigint("event_seq", { mode: "number" }).notNull(),
    firstTime: bigint("first_time", { mode: "number" }).notNull(),
    frameCount: integer("frame_count").notNull(),
    data: bytes("data").notNull(),
    sha256: bytes("sha256").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.batch] }),
    index("recordings_log_event").on(t.logId, t.eventSeq),
  ],
);

export const sessions = pgTable(
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
    startedAt: millis("started_at").notNull(),
    endedAt: millis("ended_at"),
    endReason: text("end_reason"),
    statements: integer("statements").notNull().default(0),
    bytesIn: bigint("bytes_in", { mode: "number" }).notNull().default(0),
    bytesOut: bigint("bytes_out", { mode: "number" }).notNull().default(0),
  },
  (t) => [index("sessions_started").on(t.startedAt)],
);
