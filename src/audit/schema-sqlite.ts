// The audit store's tables for SQLite. Kept in lockstep with schema-pg.ts: same tables, columns and keys;
// times are epoch milliseconds in both so rows mean the same everywhere.
import { customType, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * A BLOB column read as a Buffer. SQLite is dynamically typed: a tampered row may hold TEXT (read as its
 * UTF-8 bytes, as drizzle's blob column does) or a number, which is passed through unconverted rather than
 * thrown on while the whole page is mapped, so `audit verify` can name the row (verify-rows.ts).
 */
const bytes = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => "blob",
  fromDriver(value: unknown): Buffer {
    if (Buffer.isBuffer(value)) return value;
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (typeof value === "string") return Buffer.from(value);
    return value as Buffer;
  },
});

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
    /** Set when retention removed the body (left empty); the leaf hash stays, so the tree still verifies. */
    prunedAt: integer("pruned_at"),
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
    /** Set when retention removed the payload (left empty); sha256 and the batch's event stay. */
    prunedAt: integer("pruned_at"),
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

// Approvals (statement reviews and just-in-time access requests) and the decisions on them. Read and written
// by the gateways' API and sessions directly (src/approvals/), not by the recorder: every change is also an
// audit event, so the Merkle log covers what these rows say.
export const approvalRequests = sqliteTable(
  "approval_requests",
  {
    id: text("id").primaryKey(),
    /** statement | access */
    kind: text("kind").notNull(),
    /** pending | approved | denied | expired | abandoned | revoked */
    status: text("status").notNull(),
    connection: text("connection").notNull(),
    requesterSubject: text("requester_subject").notNull(),
    requesterIssuer: text("requester_issuer").notNull(),
    /** JSON arrays of group names. */
    requesterGroups: text("requester_groups").notNull(),
    requesterKind: text("requester_kind").notNull(),
    approverGroups: text("approver_groups").notNull(),
    minApprovals: integer("min_approvals").notNull(),
    /** Gateway instance (log id) holding a statement; a restarted instance abandons its own. */
    logId: text("log_id"),
    sessionId: text("session_id"),
    statementText: text("statement_text"),
    /** SHA-256 over the statement text and its bind parameters: what the approval binds to. */
    statementHash: text("statement_hash"),
    /** JSON array of bind parameters (text, or {base64} for binary values); null for a simple query. */
    params: text("params"),
    rule: text("rule"),
    reason: text("reason").notNull(),
    /** Access requests: the grant's length once approved. */
    durationMs: integer("duration_ms"),
    createdAt: integer("created_at").notNull(),
    /** Decisions after this are refused; the request expires. */
    deadline: integer("deadline").notNull(),
    decidedAt: integer("decided_at"),
    grantExpiresAt: integer("grant_expires_at"),
    /** Statements: when the approved statement was released (once, never replayed). */
    consumedAt: integer("consumed_at"),
    endedReason: text("ended_reason"),
  },
  (t) => [
    index("approval_requests_status").on(t.status, t.createdAt),
    index("approval_requests_grant").on(t.connection, t.requesterSubject, t.status),
  ],
);

export const approvalDecisions = sqliteTable(
  "approval_decisions",
  {
    requestId: text("request_id").notNull(),
    approverSubject: text("approver_subject").notNull(),
    approverIssuer: text("approver_issuer").notNull(),
    approverGroups: text("approver_groups").notNull(),
    /** JSON array: the approver's authentication methods (amr), kept as evidence of MFA. */
    amr: text("amr"),
    /** approve | deny | revoke */
    verdict: text("verdict").notNull(),
    reason: text("reason").notNull(),
    time: integer("time").notNull(),
    logId: text("log_id").notNull(),
  },
  // One verdict of each kind per approver: min_approvals counts distinct identities.
  (t) => [primaryKey({ columns: [t.requestId, t.approverIssuer, t.approverSubject, t.verdict] })],
);

// --- SIEM streaming (src/audit/siem/) ---------------------------------------------------------------------
// How far each SIEM sink has got in each log: delivery resumes from here after a gateway restart or a
// receiver outage (at least once, in log order). checkpoint_size: the last checkpoint delivered.
export const siemCursors = sqliteTable(
  "siem_cursors",
  {
    sink: text("sink").notNull(),
    logId: text("log_id").notNull(),
    nextSeq: integer("next_seq").notNull(),
    checkpointSize: integer("checkpoint_size").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sink, t.logId] })],
);
