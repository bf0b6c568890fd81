// Who accessed what, when, under which decision: the evidence bundle's summaries, built from the verified
// events only (never from the projection tables, which an administrator could edit).
import type { SelectedEvent } from "./collect.ts";

export interface AccessRow {
  time: string;
  log_id: string;
  seq: number;
  session_id: string;
  subject: string;
  issuer: string;
  identity_kind: string;
  connection: string;
  target_user: string;
  client_addr: string;
  application: string;
  event: string;
  action: string;
  rule: string;
  reason: string;
  statement: string;
  rows: string;
  error: string;
  approval_request: string;
  masked: string;
}

export interface SessionSummary {
  log_id: string;
  session_id: string;
  subject: string | null;
  issuer: string | null;
  kind: string | null;
  connection: string | null;
  target_user: string | null;
  client_addr: string | null;
  application: string | null;
  started_at: string | null;
  ended_at: string | null;
  end_reason: string | null;
  statements: number;
  denied: number;
  masked: number;
  recording_batches: number;
}

export interface Summary {
  totals: Record<string, number>;
  sessions: SessionSummary[];
  denials: AccessRow[];
  approvals: Record<string, unknown>[];
  masking: Record<string, unknown>[];
  timeouts: SessionSummary[];
  auth_failures: Record<string, unknown>[];
  policy_loads: Record<string, unknown>[];
  subjects: { subject: string; issuer: string | null; kind: string | null; sessions: number }[];
}

const s = (v: unknown): string => (v === undefined || v === null ? "" : String(v));
const iso = (ms: number) => new Date(ms).toISOString();
const TIMEOUTS = new Set(["idle_timeout", "max_duration", "grant_expired", "grant_revoked"]);

export function summarize(logs: { logId: string; events: SelectedEvent[] }[]): {
  summary: Summary;
  access: AccessRow[];
} {
  const sessions = new Map<string, SessionSummary>();
  const access: AccessRow[] = [];
  const summary: Summary = {
    totals: {},
    sessions: [],
    denials: [],
    approvals: [],
    masking: [],
    timeouts: [],
    auth_failures: [],
    policy_loads: [],
    subjects: [],
  };
  const count = (k: string) => {
    summary.totals[k] = (summary.totals[k] ?? 0) + 1;
  };
  for (const { logId, events } of logs) {
    for (const { row, event, pruned } of events) {
      if (pruned) {
        count("pruned_events");
        continue;
      }
      const d = event.data;
      count(`events.${row.type}`);
      const key = `${logId}/${row.sessionId ?? ""}`;
      const sess = row.sessionId ? sessions.get(key) : undefined;
      switch (row.type) {
        case "session.start":
          sessions.set(key, {
            log_id: logId,
            session_id: row.sessionId ?? "",
            subject: (d.subject as string) ?? null,
            issuer: (d.issuer as string) ?? null,
            kind: (d.kind as string) ?? null,
            connection: (d.connection as string) ?? null,
            target_user: (d.target_user as string) ?? null,
            client_addr: (d.client_addr as string) ?? null,
            application: (d.application as string) ?? null,
            started_at: iso(row.time),
            ended_at: null,
            end_reason: null,
            statements: 0,
            denied: 0,
            masked: 0,
            recording_batches: 0,
          });
          break;
        case "session.end":
          if (sess) {
            sess.ended_at = iso(row.time);
            sess.end_reason = s(d.reason) || null;
          }
          break;
        case "recording.batch":
          if (sess) sess.recording_batches++;
          break;
        case "masking":
          // A masking event is written for every result the masker scanned; "applied" when it changed one.
          if (maskingApplied(d.results)) {
            if (sess) sess.masked++;
            summary.masking.push({
              time: iso(row.time),
              log_id: logId,
              seq: row.seq,
              session_id: row.sessionId,
              ...d,
            });
          }
          break;
        case "auth.failure":
        case "access.denied":
          summary.auth_failures.push({
            time: iso(row.time),
            log_id: logId,
            seq: row.seq,
            type: row.type,
            ...d,
          });
          break;
        case "gateway.start":
        case "policy.reload":
          summary.policy_loads.push({
            time: iso(row.time),
            log_id: logId,
            seq: row.seq,
            type: row.type,
            bundle: d.policy_bundle ?? d.bundle ?? null,
            ok: row.type === "gateway.start" ? true : d.ok === true,
            config_hash: d.config_hash ?? null,
          });
          break;
        default:
          if (row.type.startsWith("approval.")) {
            summary.approvals.push({
              time: iso(row.time),
              log_id: logId,
              seq: row.seq,
              type: row.type,
              ...d,
            });
          }
      }
      if (row.type === "statement" || row.type.startsWith("approval.")) {
        const r: AccessRow = {
          time: iso(row.time),
          log_id: logId,
          seq: row.seq,
          session_id: s(row.sessionId),
          subject: s(sess?.subject ?? d.requester),
          issuer: s(sess?.issuer ?? d.requester_issuer),
          identity_kind: s(sess?.kind),
          connection: s(sess?.connection ?? d.connection),
          target_user: s(sess?.target_user),
          client_addr: s(sess?.client_addr),
          application: s(sess?.application),
          event: row.type,
          action: s(d.action),
          rule: s(d.rule),
          reason: s(d.reason),
          statement: s(d.text),
          rows: s(d.rows),
          error:
            typeof d.error === "object" && d.error ? s((d.error as { code?: unknown }).code) : s(d.error),
          approval_request: s(
            d.request_id ?? (d.approval as { request_id?: unknown } | undefined)?.request_id,
          ),
          masked: "",
        };
        access.push(r);
        if (row.type === "statement") {
          if (sess) sess.statements++;
          count(`decision.${s(d.action) || "unknown"}`);
          if (d.action === "deny") {
            if (sess) sess.denied++;
            summary.denials.push(r);
          }
        }
      }
    }
  }
  // A statement whose result was masked is followed by a masking event with the same text in its session.
  const maskedTexts = new Set(summary.masking.map((m) => `${m.log_id}/${m.session_id}/${s(m.text)}`));
  for (const r of access) {
    if (r.event === "statement")
      r.masked = maskedTexts.has(`${r.log_id}/${r.session_id}/${r.statement}`) ? "yes" : "no";
  }
  summary.sessions = [...sessions.values()];
  summary.timeouts = summary.sessions.filter((x) => x.end_reason && TIMEOUTS.has(x.end_reason));
  const subjects = new Map<string, Summary["subjects"][number]>();
  for (const x of summary.sessions) {
    const k = `${x.issuer}|${x.subject}`;
    const e = subjects.get(k) ?? { subject: x.subject ?? "", issuer: x.issuer, kind: x.kind, sessions: 0 };
    e.sessions++;
    subjects.set(k, e);
  }
  summary.subjects = [...subjects.values()];
  summary.totals.sessions = summary.sessions.length;
  summary.totals.denials = summary.denials.length;
  summary.totals.timeouts = summary.timeouts.length;
  summary.totals.masking_events = summary.masking.length;
  return { summary, access };
}

function maskingApplied(results: unknown): boolean {
  if (!Array.isArray(results)) return false;
  return results.some((r) => {
    const x = r as { rowsMasked?: unknown; columns?: unknown };
    return (
      (typeof x.rowsMasked === "number" && x.rowsMasked > 0) ||
      (Array.isArray(x.columns) && x.columns.length > 0)
    );
  });
}

/** RFC 4180 CSV: every field quoted, quotes doubled, CRLF line ends. */
export function toCsv(rows: AccessRow[]): string {
  const cols: (keyof AccessRow)[] = [
    "time",
    "log_id",
    "seq",
    "session_id",
    "subject",
    "issuer",
    "identity_kind",
    "connection",
    "target_user",
    "client_addr",
    "application",
    "event",
    "action",
    "rule",
    "reason",
    "statement",
    "rows",
    "error",
    "approval_request",
    "masked",
  ];
  const q = (v: unknown) => `"${String(v).replace(/"/g, '""')}"`;
  return `${[cols.map(q).join(","), ...rows.map((r) => cols.map((c) => q(r[c])).join(","))].join("\r\n")}\r\n`;
}
