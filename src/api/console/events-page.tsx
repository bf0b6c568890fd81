// The audit-event browser: one log's events newest first, filtered by family or type, session, identity and
// time, paged by sequence number. Each row shows the event as logged (its data as JSON: events never hold
// secrets), with a link to the session it belongs to.
/** @jsxImportSource hono/jsx */
import type { StoredEvent } from "../../audit/store.ts";
import type { Principal } from "../admin/auth.ts";
import { EVENT_FAMILIES } from "../admin/event-query.ts";
import { fmtTime, Page } from "./layout.tsx";

export function EventsPage(props: {
  principal: Principal;
  logs: { logId: string; ours: boolean }[];
  logId: string;
  filter: Record<string, string>;
  items: StoredEvent[];
  nextCursor: number | null;
}) {
  const f = props.filter;
  const next = new URLSearchParams({ ...f, log: props.logId, before: String(props.nextCursor ?? "") });
  return (
    <Page title="Audit events" principal={props.principal} active="events">
      <h1>Audit events</h1>
      <form class="filters" method="get" action="/console/events">
        <label>
          Log
          <select name="log">
            {props.logs.map((l) => (
              <option value={l.logId} selected={l.logId === props.logId}>
                {l.ours ? "this gateway" : l.logId}
              </option>
            ))}
          </select>
        </label>
        <label>
          Events
          <select name="type">
            <option value="">all</option>
            {Object.keys(EVENT_FAMILIES).map((k) => (
              <option value={k} selected={f.type === k}>
                {k}
              </option>
            ))}
            {f.type && !EVENT_FAMILIES[f.type] ? (
              <option value={f.type} selected>
                {f.type}
              </option>
            ) : null}
          </select>
        </label>
        <label>
          Subject <input name="subject" value={f.subject ?? ""} />
        </label>
        <label>
          Session <input name="session" value={f.session ?? ""} />
        </label>
        <label>
          From <input name="from" type="datetime-local" value={f.from ?? ""} />
        </label>
        <label>
          To <input name="to" type="datetime-local" value={f.to ?? ""} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <table class="events">
        <thead>
          <tr>
            <th class="num">Seq</th>
            <th>Time</th>
            <th>Type</th>
            <th>Session</th>
            <th>Data</th>
          </tr>
        </thead>
        <tbody>
          {props.items.length === 0 ? (
            <tr>
              <td colspan={5} class="empty">
                No events match.
              </td>
            </tr>
          ) : (
            props.items.map((e) => (
              <tr data-type={e.type} data-seq={e.seq}>
                <td class="num">{e.seq}</td>
                <td>{fmtTime(e.time)}</td>
                <td>
                  <a href={`/console/events?${new URLSearchParams({ log: props.logId, type: e.type })}`}>
                    <code>{e.type}</code>
                  </a>
                </td>
                <td>
                  {e.sessionId ? (
                    <a href={`/console/sessions/${encodeURIComponent(e.sessionId)}`}>
                      <code>{e.sessionId.slice(0, 8)}</code>
                    </a>
                  ) : (
                    "—"
                  )}
                </td>
                <td class="data">{summary(e.data)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
      {props.nextCursor !== null ? (
        <p class="pager">
          <a class="button" id="older" href={`/console/events?${next}`}>
            Older events →
          </a>
        </p>
      ) : null}
    </Page>
  );
}

/** The event's data as compact JSON, long values cut (a policy.input's input is kilobytes). */
function summary(data: Record<string, unknown>): string {
  const text = JSON.stringify(data, (_k, v) =>
    v instanceof Uint8Array
      ? `<${v.length} bytes>`
      : typeof v === "string" && v.length > 300
        ? `${v.slice(0, 300)}…`
        : v,
  );
  return text.length > 1200 ? `${text.slice(0, 1200)}…` : text;
}
