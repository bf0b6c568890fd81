// The check the CLI and console run on the session rows they show: each row folded again from its own
// events (projection.ts). A row that differs is shown as the events say, with a warning naming the fields
// that were changed; the full cross-check of every row, with the Merkle proof of the events, is audit verify.
import { compareSession, foldSessionEvent, newSessionFold, type SessionFold } from "./projection.ts";
import type { AuditStore, SessionRow } from "./store.ts";

export interface CheckedSession {
  /** The row as the events say it (the stored row when they agree, or when the events were pruned). */
  row: SessionRow;
  /** Columns of the stored row that differ from the events; empty when it agrees. */
  differs: string[];
  /** Retention removed the session's start event: the row cannot be checked. */
  pruned: boolean;
}

function fromFold(row: SessionRow, f: SessionFold): SessionRow {
  if (!f.start) return row;
  return {
    ...row,
    ...f.start,
    logId: f.logId,
    endedAt: f.end?.endedAt ?? null,
    endReason: f.end?.endReason ?? null,
    bytesIn: f.end?.bytesIn ?? 0,
    bytesOut: f.end?.bytesOut ?? 0,
    statements: f.statements,
  };
}

/** For a page of rows (sessions list): one read of their start and end events and statement counts. */
export async function checkSessions(store: AuditStore, rows: SessionRow[]): Promise<CheckedSession[]> {
  const heads = await store.sessionHeads(rows.map((r) => r.id));
  return rows.map((row) => {
    const h = heads.get(row.id);
    if (h?.pruned) return { row, differs: [], pruned: true };
    const start = h?.events.find((e) => e.type === "session.start");
    const f = newSessionFold(start?.logId ?? row.logId);
    for (const e of h?.events ?? []) foldSessionEvent(f, e);
    f.statements = h?.statements ?? 0;
    const differs = compareSession(row, f);
    return { row: differs.length ? fromFold(row, f) : row, differs, pruned: false };
  });
}
