// `custos sessions list` and `custos sessions show ID`: what examiners ask first — who did what, where, when.

import { parseTime } from "../api/admin/cursor.ts";
import { toJsonValue } from "../api/admin/json-value.ts";
import type { SessionFlag } from "../api/admin/session-facts.ts";
import { querySessions } from "../api/admin/session-query.ts";
import { sessionView } from "../api/admin/views.ts";
import { checkSessions } from "../audit/session-check.ts";
import type { StoredEvent } from "../audit/store.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import { withStore } from "./store-access.ts";

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : "-");

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export const sessionsListCommand: CliCommand = {
  name: "sessions list",
  summary: "list recorded sessions, newest first",
  usage: `usage: custos sessions list --config FILE [--limit N] [filters] [--cursor C] [--json]

Filters (the admin API's /api/sessions filters): --subject S, --connection C, --from T, --to T (ISO 8601),
--outcome open|client|idle_timeout|…|<error code>, --flag denials|reviews|masking, --text SUBSTRING (statement text).
Columns: id, subject, connection, start, end (or "open"), statements, end reason. Each row is checked
against its own audit events: a row that differs is shown as the events say, marked "!", with the
changed columns listed below the table (custos audit verify checks every row and the events' proofs).
--json prints {items, next_cursor} with the API's field names (snake_case) and ISO 8601 times.`,
  async run(argv) {
    const { flags } = parseFlags(argv, {
      config: "string",
      limit: "string",
      json: "boolean",
      subject: "string",
      connection: "string",
      from: "string",
      to: "string",
      outcome: "string",
      flag: "string",
      text: "string",
      cursor: "string",
    });
    const limit = Number(flags.limit ?? 50);
    if (!Number.isInteger(limit) || limit < 1) throw new CliError("--limit must be a positive integer", 2);
    const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    return withStore(flags.config, async (store) => {
      let page: Awaited<ReturnType<typeof querySessions>>;
      try {
        page = await querySessions(
          store,
          {
            subject: str(flags.subject),
            connection: str(flags.connection),
            from: parseTime("from", str(flags.from)),
            to: parseTime("to", str(flags.to)),
            outcome: str(flags.outcome),
            flag: str(flags.flag) as SessionFlag | undefined,
            text: str(flags.text),
          },
          { limit, cursor: str(flags.cursor) },
        );
      } catch (err) {
        throw new CliError(err instanceof Error ? err.message : String(err), 2);
      }
      const checked = await checkSessions(store, page.items);
      if (flags.json) {
        const items = checked.map((c) => isoTimes(sessionView(c.row, c)));
        process.stdout.write(`${JSON.stringify({ items, next_cursor: page.nextCursor }, null, 2)}\n`);
        return 0;
      }
      const rows = [["", "ID", "SUBJECT", "CONNECTION", "START", "END", "STATEMENTS", "REASON"]];
      const warnings: string[] = [];
      for (const { row: s, differs } of checked) {
        if (differs.length)
          warnings.push(
            `! ${s.id}: the sessions table differs from the audit log in ${differs.join(", ")}; shown as logged`,
          );
        rows.push([
          differs.length ? "!" : "",
          s.id,
          s.subject ?? "-",
          s.connection ?? "-",
          iso(s.startedAt),
          s.endedAt ? iso(s.endedAt) : "open",
          String(s.statements),
          s.endReason ?? "",
        ]);
      }
      process.stdout.write(`${table(rows)}\n`);
      if (warnings.length) process.stdout.write(`\nWARNING\n${warnings.join("\n")}\n`);
      if (page.nextCursor) process.stdout.write(`\nmore: --cursor ${page.nextCursor}\n`);
      return 0;
    });
  },
};

/** The API's views carry epoch-ms times; the CLI's JSON says them in ISO 8601 (`*_at`, `time`). */
export function isoTimes<T extends Record<string, unknown>>(v: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v))
    out[k] = typeof x === "number" && (k.endsWith("_at") || k === "time") ? new Date(x).toISOString() : x;
  return out as T;
}

function describeStatement(e: StoredEvent): string {
  const d = e.data as Record<string, unknown>;
  const err = d.error as { code?: string; message?: string } | undefined;
  const outcome = err ? `ERROR ${err.code ?? ""} ${err.message ?? ""}`.trim() : String(d.tag ?? "");
  const decision = d.action === "allow" ? "" : `  [${d.action}: ${d.rule}]`;
  const ms = typeof d.duration_us === "number" ? (d.duration_us / 1000).toFixed(2) : "-";
  const text = String(d.text ?? "")
    .replace(/\s+/g, " ")
    .trim();
  return `${iso(e.time)}  ${ms.padStart(8)} ms  ${String(d.rows ?? 0).padStart(6)} rows  ${outcome}${decision}\n    ${text}`;
}

export const sessionsShowCommand: CliCommand = {
  name: "sessions show",
  summary: "print a session's transcript",
  usage: `usage: custos sessions show ID --config FILE [--json]

Prints who opened the session and from where, then each statement with its time, duration, row count,
command tag or error, and the policy decision when it was not an allow.`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { config: "string", json: "boolean" });
    const id = positionals[0];
    if (!id) throw new CliError("sessions show needs a session ID", 2);
    return withStore(flags.config, async (store) => {
      const stored = await store.getSession(id);
      if (!stored) throw new CliError(`no session ${id}`);
      const events = await store.sessionEvents(id);
      // Shown as the events say; a row edited in the sessions table is named, not believed.
      const [checked] = await checkSessions(store, [stored]);
      if (!checked) throw new CliError(`no session ${id}`);
      const session = checked.row;
      if (flags.json) {
        // The API's transcript (GET /api/sessions/ID/transcript), with ISO 8601 times.
        const out = {
          session: isoTimes(sessionView(session, checked)),
          events: events.map((e) =>
            isoTimes({ seq: e.seq, log_id: e.logId, type: e.type, time: e.time, data: toJsonValue(e.data) }),
          ),
        };
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return 0;
      }
      const lines = [
        ...(checked.differs.length
          ? [
              `WARNING: the sessions table differs from this session's audit events in ${checked.differs.join(", ")}.`,
              "         Shown below as the events say. Run custos audit verify.",
              "",
            ]
          : []),
        `session     ${session.id}`,
        `subject     ${session.subject} (${session.kind}) via ${session.issuer}`,
        `connection  ${session.connection} as ${session.targetUser ?? "-"}, protocol ${session.protocol ?? "-"}`,
        `client      ${session.clientAddr ?? "-"}${session.application ? `, application ${session.application}` : ""}`,
        `time        ${iso(session.startedAt)} → ${session.endedAt ? iso(session.endedAt) : "open"}${session.endReason ? ` (${session.endReason})` : ""}`,
        `traffic     ${session.bytesIn} bytes in, ${session.bytesOut} bytes out, ${session.statements} statements`,
        "",
      ];
      for (const e of events) {
        if (e.type === "statement") lines.push(describeStatement(e));
        else if (
          e.type !== "session.start" &&
          e.type !== "session.end" &&
          e.type !== "recording.batch" &&
          e.type !== "policy.input" &&
          e.type !== "auth.success"
        ) {
          lines.push(`${iso(e.time)}  ${e.type}  ${JSON.stringify(e.data)}`);
        }
      }
      process.stdout.write(`${lines.join("\n")}\n`);
      return 0;
    });
  },
};
