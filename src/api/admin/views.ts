// The JSON shapes the admin API answers with (snake_case, times in epoch ms), kept apart from store rows so
// a column added to the store does not leak into the API unreviewed.
import type { CheckpointRow, SessionRow } from "../../audit/store.ts";
import { outcomeOf } from "./session-query.ts";

/** How a sessions row compares with its audit events (audit/session-check.ts). */
export function integrityView(c: { differs: string[]; pruned: boolean }) {
  return c.pruned ? "pruned" : c.differs.length ? { differs_from_log: c.differs } : "ok";
}

export function sessionView(s: SessionRow, check?: { differs: string[]; pruned: boolean }) {
  return {
    ...(check ? { integrity: integrityView(check) } : {}),
    id: s.id,
    log_id: s.logId,
    subject: s.subject,
    issuer: s.issuer,
    kind: s.kind,
    connection: s.connection,
    protocol: s.protocol,
    target_user: s.targetUser,
    client_addr: s.clientAddr,
    application: s.application,
    started_at: s.startedAt,
    ended_at: s.endedAt,
    end_reason: s.endReason,
    outcome: outcomeOf(s),
    statements: s.statements,
    bytes_in: s.bytesIn,
    bytes_out: s.bytesOut,
  };
}

export function checkpointView(c: CheckpointRow) {
  return {
    log_id: c.logId,
    size: c.size,
    root_hash: Buffer.from(c.rootHash).toString("hex"),
    time: c.time,
    signature: Buffer.from(c.signature).toString("base64"),
  };
}
