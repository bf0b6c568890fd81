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
    /** Set when retention removed the body (left empty); the leaf hash stays, so the tree still verifies. */
    prunedAt: millis("pruned_at"),
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
    /** Set when retention removed the payload (left empty); sha256 and the batch's event stay. */
    prunedAt: millis("pruned_at"),
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

// Approvals (statement reviews and just-in-time access requests) and the decisions on them. Read and written
// by the gateways' API and sessions directly (src/approvals/), not by the recorder: every change is also an
// audit event, so the Merkle log covers what these rows say.
export const approvalRequests = pgTable(
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
    durationMs: bigint("duration_ms", { mode: "number" }),
    createdAt: millis("created_at").notNull(),
    /** Decisions after this are refused; the request expires. */
    deadline: millis("deadline").notNull(),
    decidedAt: millis("decided_at"),
    grantExpiresAt: millis("grant_expires_at"),
    /** Statements: when the approved statement was released (once, never replayed). */
    consumedAt: millis("consumed_at"),
    endedReason: text("ended_reason"),
  },
  (t) => [
    index("approval_requests_status").on(t.status, t.createdAt),
    index("approval_requests_grant").on(t.connection, t.requesterSubject, t.status),
  ],
);

export const approvalDecisions = pgTable(
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
    time: millis("time").notNull(),
    logId: text("log_id").notNull(),
  },
  // One verdict of each kind per approver: min_approvals counts distinct identities.
  (t) => [primaryKey({ columns: [t.requestId, t.approverIssuer, t.approverSubject, t.verdict] })],
);

// --- SIEM streaming (src/audit/siem/) ---------------------------------------------------------------------
// How far each SIEM sink has got in each log: delivery resumes from here after a gateway restart or a
// receiver outage (at least once, in log order). checkpoint_size: the last checkpoint delivered.
export const siemCursors = pgTable(
  "siem_cursors",
  {
    sink: text("sink").notNull(),
    logId: text("log_id").notNull(),
    nextSeq: bigint("next_seq", { mode: "number" }).notNull(),
    checkpointSize: bigint("checkpoint_size", { mode: "number" }).notNull(),
    updatedAt: millis("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sink, t.logId] })],
);
