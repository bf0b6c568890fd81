// Views that cannot lie: the `sessions` and approval tables are projections of the logged events. Verify
// folds the (verified) events into what each row must say and reports every row that differs; the CLI and
// console check the rows they show the same way (session-check.ts). The fold of a session row is shared
// with the recorder (log-writer.ts), so what is written and what is checked cannot drift apart.
import type { AuditEvent } from "../core/audit-event.ts";
import { CustosError } from "../core/errors.ts";
import { type ApprovalFold, approvalFold, compareApproval } from "./projection-approvals.ts";
import { type AuditStore, describe, type EventRow, type SessionRow } from "./store.ts";

const str = (v: unknown): string | null => (typeof v === "string" ? v : v == null ? null : String(v));
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

export type SessionStart = Omit<
  SessionRow,
  "id" | "logId" | "endedAt" | "endReason" | "statements" | "bytesIn" | "bytesOut"
>;
export type SessionEnd = { endedAt: number; endReason: string | null; bytesIn: number; bytesOut: number };

export function sessionStartColumns(d: Record<string, unknown>, time: number): SessionStart {
  return {
    subject: str(d.subject),
    issuer: str(d.issuer),
    kind: str(d.kind),
    connection: str(d.connection),
    protocol: str(d.protocol),
    targetUser: str(d.target_user),
    clientAddr: str(d.client_addr),
    application: str(d.application),
    startedAt: time,
  };
}

export function sessionEndColumns(d: Record<string, unknown>, time: number): SessionEnd {
  return {
    endedAt: time,
    endReason: str(d.reason),
    bytesIn: num(d.bytes_from_client),
    bytesOut: num(d.bytes_to_client),
  };
}

/** What a session row must say, folded from its events in log order. */
export interface SessionFold {
  logId: string;
  start: SessionStart | null;
  end: SessionEnd | null;
  statements: number;
}

export function foldSessionEvent(f: SessionFold, e: AuditEvent): void {
  if (e.type === "session.start") f.start = sessionStartColumns(e.data, e.time);
  else if (e.type === "statement") f.statements++;
  else if (e.type === "session.end") f.end = sessionEndColumns(e.data, e.time);
}

const SESSION_FIELDS = [
  "logId",
  "subject",
  "issuer",
  "kind",
  "connection",
  "protocol",
  "targetUser",
  "clientAddr",
  "application",
  "startedAt",
  "endedAt",
  "endReason",
  "statements",
  "bytesIn",
  "bytesOut",
] as const;

/** Fields of `row` that differ from its events; ["(no session.start event)"] when the log never saw it. */
export function compareSession(row: SessionRow, f: SessionFold | undefined): string[] {
  if (!f?.start) return ["(no session.start event in the log)"];
  const want: Record<string, unknown> = {
    logId: f.logId,
    ...f.start,
    endedAt: f.end?.endedAt ?? null,
    endReason: f.end?.endReason ?? null,
    statements: f.statements,
    bytesIn: f.end?.bytesIn ?? 0,
    bytesOut: f.end?.bytesOut ?? 0,
  };
  return SESSION_FIELDS.filter((k) => (row[k] ?? null) !== (want[k] ?? null));
}

export function newSessionFold(logId: string): SessionFold {
  return { logId, start: null, end: null, statements: 0 };
}

export interface ProjectionMismatch {
  table: "sessions" | "approval_requests" | "approval_decisions";
  id: string;
  /** The columns that differ from the events (or why the row has no events behind it). */
  fields: string[];
}

export interface ProjectionReport {
  ok: boolean;
  sessions: { checked: number; mismatched: number; unverifiable: number };
  approvals: { checked: number; mismatched: number; unverifiable: number; pending: number };
  /** Every row that differs (up to MAX_REPORTED). */
  rows: ProjectionMismatch[];
}

const MAX_REPORTED = 1000;

export class Projections {
  private sessions = new Map<string, SessionFold>();
  private prunedSessions = new Set<string>();
  private approvals: ApprovalFold = approvalFold();

  add(logId: string, _seq: number, e: AuditEvent): void {
    if (e.sessionId && (e.type === "session.start" || e.type === "statement" || e.type === "session.end")) {
      const f = this.sessions.get(e.sessionId) ?? newSessionFold(logId);
      this.sessions.set(e.sessionId, f);
      foldSessionEvent(f, e);
    }
    this.approvals.add(e);
  }

  /** A pruned event: its session's row (and approvals older than it) can no longer be recomputed. */
  pruned(e: EventRow): void {
    if (e.sessionId) this.prunedSessions.add(e.sessionId);
    if (e.type.startsWith("approval.") || e.type.startsWith("access.")) this.approvals.prunedUpTo(e.time);
  }

  async check(
    store: AuditStore,
    opts: { verifiedUpTo: Map<string, number>; now: number },
  ): Promise<ProjectionReport> {
    const report: ProjectionReport = {
      ok: true,
      sessions: { checked: 0, mismatched: 0, unverifiable: 0 },
      approvals: { checked: 0, mismatched: 0, unverifiable: 0, pending: 0 },
      rows: [],
    };
    const flag = (m: ProjectionMismatch) => {
      report.ok = false;
      if (report.rows.length < MAX_REPORTED) report.rows.push(m);
    };
    const seen = new Set<string>();
    for (let after = ""; ; ) {
      const page = await store.readSessions(after, 1000);
      if (page.length === 0) break;
      for (const row of page) {
        seen.add(row.id);
        report.sessions.checked++;
        if (this.prunedSessions.has(row.id)) {
          report.sessions.unverifiable++;
          continue;
        }
        let fields = compareSession(row, this.sessions.get(row.id));
        // The gateway may have committed more of this session since its events were read: fold those in.
        if (fields.length > 0) fields = await this.recheck(store, row, opts.verifiedUpTo);
        if (fields.length > 0) {
          report.sessions.mismatched++;
          flag({ table: "sessions", id: row.id, fields });
        }
      }
      after = page.at(-1)!.id;
    }
    for (const [id, f] of this.sessions) {
      if (!seen.has(id) && f.start && !this.prunedSessions.has(id)) {
        report.sessions.mismatched++;
        flag({ table: "sessions", id, fields: ["(row missing: the log has this session)"] });
      }
    }
    await compareApproval(store, this.approvals, opts.now, report, flag);
    return report;
  }

  private async recheck(store: AuditStore, row: SessionRow, upTo: Map<string, number>): Promise<string[]> {
    const base = this.sessions.get(row.id);
    const f: SessionFold = base
      ? { ...base, start: base.start && { ...base.start }, end: base.end && { ...base.end } }
      : newSessionFold(row.logId);
    const verified = upTo.get(row.logId) ?? 0;
    let events: Awaited<ReturnType<AuditStore["sessionEvents"]>>;
    try {
      events = await store.sessionEvents(row.id);
    } catch (err) {
      // A stored body that does not decode (cut, appended to, another type): the row cannot be recomputed,
      // which is itself a finding (its log fails verification at that event). An unreachable store is not.
      if (err instanceof CustosError) throw err;
      return [`(the log's events of this session cannot be read: ${describe(err)})`];
    }
    for (const e of events) if (e.logId === row.logId && e.seq >= verified) foldSessionEvent(f, e);
    return compareSession(row, f);
  }
}
