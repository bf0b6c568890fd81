// A session's replay: a timeline of its statements (position by time, colour by decision) and the statements
// one by one with timing, decision, rule, the masked rows the client received, and errors. The client script
// steps through them (buttons, arrow keys, clicking the timeline).
/** @jsxImportSource hono/jsx */
import type { SessionRow } from "../../audit/store.ts";
import type { Cast } from "../../recording/asciicast.ts";
import type { Principal } from "../admin/auth.ts";
import type { ReplayStep, StepApproval } from "../admin/replay.ts";
import { outcomeOf } from "../admin/session-query.ts";
import { fmtDuration, fmtTime, Page } from "./layout.tsx";
import { castJson } from "./terminal-player.ts";

export function ReplayPage(props: {
  principal: Principal;
  session: SessionRow;
  steps: ReplayStep[];
  /** The terminal recording (SSH shells and exec), played by the bundled terminal player. */
  cast?: Cast | null;
  /** Columns of the sessions row that differ from the session's audit events (shown as the events say). */
  differs?: string[];
  /** Opened by an approver of this pending request (no read role): this session only, read-only. */
  asApproverOf?: string | null;
}) {
  const s = props.session;
  const end = s.endedAt ?? Math.max(s.startedAt, ...props.steps.map((x) => x.time));
  const span = Math.max(1, end - s.startedAt);
  return (
    <Page title={`Session ${s.id}`} principal={props.principal} active="sessions">
      <h1>
        Session <code>{s.id}</code>
      </h1>
      {props.asApproverOf ? (
        <p class="readonly">
          Read-only: you see this session because request <code>{props.asApproverOf}</code> waits for your
          decision. <a href="/console/approvals">Back to approvals</a>
        </p>
      ) : null}
      {props.differs?.length ? (
        <p class="error integrity-warning" role="alert">
          The sessions table differs from this session's audit events in {props.differs.join(", ")}: shown as
          the events say. Run <code>custos audit verify</code>.
        </p>
      ) : null}
      <dl class="meta">
        <dt>Subject</dt>
        <dd>
          {s.subject ?? "—"} ({s.kind ?? "?"})
        </dd>
        <dt>Connection</dt>
        <dd>
          {s.connection ?? "—"} as {s.targetUser ?? "—"}
        </dd>
        <dt>Client</dt>
        <dd>
          {s.clientAddr ?? "—"} {s.application ? `· ${s.application}` : ""}
        </dd>
        <dt>Started</dt>
        <dd>{fmtTime(s.startedAt)}</dd>
        <dt>Ended</dt>
        <dd>
          {fmtTime(s.endedAt)} <span class={`badge outcome-${outcomeOf(s)}`}>{outcomeOf(s)}</span>
        </dd>
        <dt>Statements</dt>
        <dd>{s.statements}</dd>
      </dl>
      <div class="timeline" id="timeline" title="Timeline: one mark per statement">
        {props.steps.map((x) => (
          <button
            type="button"
            class={`mark action-${x.action}`}
            data-step={x.index}
            data-pos={((x.offsetMs / span) * 100).toFixed(2)}
            title={`#${x.index + 1} +${(x.offsetMs / 1000).toFixed(3)} s ${x.action}`}
          ></button>
        ))}
      </div>
      <div class="controls">
        <button type="button" id="prev">
          ← Previous
        </button>
        <span id="position">{props.steps.length ? `1 / ${props.steps.length}` : "no statements"}</span>
        <button type="button" id="next">
          Next →
        </button>
        <a class="raw" href={`/api/sessions/${encodeURIComponent(s.id)}/frames`}>
          raw frames (JSON)
        </a>
      </div>
      {props.cast ? <TerminalPlayer cast={props.cast} /> : null}
      <ol class="steps" id="steps">
        {props.steps.map((x) => (
          <Step step={x} />
        ))}
      </ol>
    </Page>
  );
}

/** `review → approved by bob after 59 s`: what the examiner needs, not the `allow` it ended as. */
export function reviewLabel(a: StepApproval): string {
  const by = a.by.length ? ` by ${a.by.join(", ")}` : "";
  const after = a.waitedS !== null ? ` after ${a.waitedS} s` : "";
  return `review → ${a.status}${by}${after}`;
}

function Step({ step: x }: { step: ReplayStep }) {
  const r = x.result;
  return (
    <li
      class={`step action-${x.action}${x.index === 0 ? " current" : ""}`}
      data-step={x.index}
      id={`step-${x.index}`}
    >
      <div class="step-head">
        <span class="idx">#{x.index + 1}</span>
        <span class="at">+{(x.offsetMs / 1000).toFixed(3)} s</span>
        {x.approval ? (
          <span class={`badge action-review review-${x.approval.status}`}>{reviewLabel(x.approval)}</span>
        ) : x.unroutedReview ? (
          <span class="badge action-deny" title={`review asked by ${x.unroutedReview}`}>
            review → not routed, denied
          </span>
        ) : (
          <span class={`badge action-${x.action}`}>{x.action}</span>
        )}
        {x.rule ? <span class="rule">{x.rule}</span> : null}
        {x.outcome === "interrupted" ? (
          <span class="badge outcome-interrupted" title={`the session ended (${x.interruptedBy ?? "?"})`}>
            interrupted by {x.interruptedBy ?? "session end"}
          </span>
        ) : null}
        <span class="dur">{fmtDuration(x.durationUs)}</span>
        {x.tag ? <span class="tag">{x.tag}</span> : null}
        {x.rowCount !== null ? <span class="rows">{x.rowCount} rows</span> : null}
      </div>
      <pre class="sql">{x.text}</pre>
      {x.reason ? <p class="reason">{x.reason}</p> : null}
      {/* The client's own ErrorResponse (below) says the same as the event's error when it was recorded. */}
      {x.error && !r?.errors.length ? <p class="error">{x.error}</p> : null}
      {r?.columns.length ? (
        <div class="result">
          <table>
            <thead>
              <tr>
                {r.columns.map((c, i) => {
                  const by = r.maskedColumns[i];
                  return by ? (
                    <th class="masked" title={`masked by ${by}`}>
                      {c}
                    </th>
                  ) : (
                    <th>{c}</th>
                  );
                })}
              </tr>
            </thead>
            <tbody>
              {r.rows.map((row, j) => (
                <tr>
                  {row.map((v, i) => (
                    <Cell value={v} maskedBy={r.masked[j]?.[i] ?? null} />
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          {r.more ? <p class="more">… {r.more} more rows recorded</p> : null}
        </div>
      ) : null}
      {r?.errors.map((e) => (
        <p class="error">
          {e.code}: {e.message}
        </p>
      ))}
      {r?.notices.map((n) => (
        <p class="notice">{n}</p>
      ))}
    </li>
  );
}

/** A result cell as the client received it; one the gateway masked says so (a masked date reads NULL). */
function Cell({ value, maskedBy }: { value: string | null; maskedBy: string | null }) {
  const cls = [value === null ? "null" : "", maskedBy ? "masked" : ""].filter(Boolean).join(" ");
  return (
    <td
      class={cls || undefined}
      title={maskedBy ? `masked by ${maskedBy}` : undefined}
      data-masked={maskedBy ?? undefined}
    >
      {value ?? "NULL"}
    </td>
  );
}

/** The terminal as the client saw it, replayed by /console/static/terminal-player.js (no CDN). */
function TerminalPlayer({ cast }: { cast: Cast }) {
  return (
    <section class="terminal-replay">
      <h2>Terminal</h2>
      <div class="controls">
        <button type="button" id="term-play">
          Play
        </button>
        <select id="term-speed" aria-label="speed">
          <option value="1">1×</option>
          <option value="2">2×</option>
          <option value="4">4×</option>
          <option value="16">16×</option>
        </select>
        <input type="range" id="term-seek" min="0" step="0.1" value="0" aria-label="seek" />
        <span id="term-time"></span>
        <button type="button" id="term-end">
          End
        </button>
      </div>
      <pre id="terminal" class="terminal"></pre>
      <script type="application/json" id="cast-data" dangerouslySetInnerHTML={{ __html: castJson(cast) }} />
      <script src="/console/static/terminal-player.js" defer></script>
    </section>
  );
}
