// The sessions table: newest first, filtered by subject, connection, time and outcome, paged by cursor.
/** @jsxImportSource hono/jsx */
import type { CheckedSession } from "../../audit/session-check.ts";
import type { Principal } from "../admin/auth.ts";
import { FLAGS, type SessionFlag } from "../admin/session-facts.ts";
import { OUTCOMES, outcomeOf } from "../admin/session-query.ts";
import { fmtTime, Page } from "./layout.tsx";

export interface SessionsPageProps {
  principal: Principal;
  /** Each row checked against its own events (shown as the events say when it differs). */
  rows: CheckedSession[];
  /** Per row: what its events hold (denials, reviews). */
  flags: SessionFlag[][];
  filter: Record<string, string>;
  nextCursor: string | null;
  connections: string[];
}

export function SessionsPage(props: SessionsPageProps) {
  const f = props.filter;
  const next = new URLSearchParams({ ...f, cursor: props.nextCursor ?? "" });
  return (
    <Page title="Sessions" principal={props.principal} active="sessions">
      <h1>Sessions</h1>
      <form class="filters" method="get" action="/console/sessions">
        <label>
          Subject <input name="subject" value={f.subject ?? ""} />
        </label>
        <label>
          Connection
          <select name="connection">
            <option value="">any</option>
            {props.connections.map((n) => (
              <option value={n} selected={f.connection === n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label>
          From <input name="from" type="datetime-local" value={f.from ?? ""} />
        </label>
        <label>
          To <input name="to" type="datetime-local" value={f.to ?? ""} />
        </label>
        <label>
          Statement text <input name="text" type="search" value={f.text ?? ""} placeholder="e.g. accounts" />
        </label>
        <label>
          Flagged
          <select name="flag">
            <option value="">any</option>
            {FLAGS.map((x) => (
              <option value={x} selected={f.flag === x}>
                with {x}
              </option>
            ))}
          </select>
        </label>
        <label>
          Outcome
          <select name="outcome">
            <option value="">any</option>
            {OUTCOMES.map((o) => (
              <option value={o} selected={f.outcome === o}>
                {o}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <table class="sessions">
        <thead>
          <tr>
            <th>Started</th>
            <th>Session</th>
            <th>Subject</th>
            <th>Kind</th>
            <th>Connection</th>
            <th>Client</th>
            <th>Application</th>
            <th class="num">Statements</th>
            <th class="num">Duration</th>
            <th>Flags</th>
            <th>Outcome</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 ? (
            <tr>
              <td colspan={11} class="empty">
                No sessions match.
              </td>
            </tr>
          ) : (
            props.rows.map(({ row: s, differs }, i) => (
              <tr data-session={s.id} class={differs.length ? "integrity-failed" : undefined}>
                <td>
                  <a href={`/console/sessions/${encodeURIComponent(s.id)}`}>{fmtTime(s.startedAt)}</a>
                  {differs.length ? (
                    <span
                      class="badge integrity-warning"
                      title={`The sessions table differs from the audit log in ${differs.join(", ")}; shown as logged`}
                    >
                      differs from log: {differs.join(", ")}
                    </span>
                  ) : null}
                </td>
                <td class="id" title={s.id}>
                  <code>{s.id.slice(0, 8)}</code>
                </td>
                <td>{s.subject ?? "—"}</td>
                <td>{s.kind ?? "—"}</td>
                <td>{s.connection ?? "—"}</td>
                <td>{s.clientAddr ?? "—"}</td>
                <td>{s.application ?? "—"}</td>
                <td class="num">{s.statements}</td>
                <td class="num duration">{sessionDuration(s.startedAt, s.endedAt)}</td>
                <td class="flags">
                  {(props.flags[i] ?? []).map((x) => (
                    <span class={`badge flag-${x}`}>{x}</span>
                  ))}
                </td>
                <td>
                  <span class={`badge outcome-${outcomeOf(s)}`}>{outcomeOf(s)}</span>
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      {props.nextCursor ? (
        <p>
          <a class="button" href={`/console/sessions?${next}`}>
            Older sessions →
          </a>
        </p>
      ) : null}
    </Page>
  );
}

/** 2.4 s, 3 min 05 s, 1 h 02 min; "open" while it runs. */
export function sessionDuration(startedAt: number, endedAt: number | null): string {
  if (endedAt === null) return "open";
  const ms = Math.max(0, endedAt - startedAt);
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}
