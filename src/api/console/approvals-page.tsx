// The approvals inbox: pending statement reviews and access requests with approve/deny and a reason, kept
// live by the client script polling /api/approvals; recent decisions below. Rendered on the server first so
// the page works before the script runs.
/** @jsxImportSource hono/jsx */

import type { ApprovalView } from "../admin/approvals-port.ts";
import type { Principal } from "../admin/auth.ts";
import { allowed, CAN } from "../admin/roles.ts";
import { fmtTime, Page } from "./layout.tsx";

export function ApprovalsPage(props: {
  principal: Principal;
  pending: ApprovalView[];
  recent: ApprovalView[];
  unavailable: string | null;
  /** Request ids whose rows differ from the audit log (audit verify), with the differing columns. */
  flagged?: Map<string, string[]>;
}) {
  const canDecide = allowed(props.principal.roles, CAN.decide);
  return (
    <Page title="Approvals" principal={props.principal} active="approvals">
      <h1>Approvals</h1>
      {props.unavailable ? <p class="error">{props.unavailable}</p> : null}
      <p class="hint" id="live-status" data-can-decide={canDecide ? "1" : "0"}>
        Pending requests refresh every 2 seconds.
        {canDecide ? "" : " Your role is read-only: the gateway refuses your decisions."}
      </p>
      <h2>Pending</h2>
      <ul class="inbox" id="pending">
        {props.pending.length === 0 ? <li class="empty">Nothing waits for a decision.</li> : null}
        {props.pending.map((a) => (
          <Pending a={a} />
        ))}
      </ul>
      <h2>Recent decisions</h2>
      {/* Cards decided on this page (or elsewhere while it was open) move here at once. */}
      <ul class="inbox decided" id="decided"></ul>
      <table class="recent" id="recent">
        <thead>
          <tr>
            <th>Request</th>
            <th>Kind</th>
            <th>Requester</th>
            <th>Connection</th>
            <th>Status</th>
            <th>Decided</th>
            <th>By · reason</th>
          </tr>
        </thead>
        <tbody>
          {props.recent.map((a) => (
            <tr class={props.flagged?.has(a.id) ? "integrity-failed" : undefined}>
              <td>
                <code>{a.id}</code>
                {props.flagged?.has(a.id) ? (
                  <span class="badge integrity-warning">
                    differs from log: {props.flagged.get(a.id)!.join(", ")}
                  </span>
                ) : null}
              </td>
              <td>{a.kind}</td>
              <td>{a.requester}</td>
              <td>{a.connection}</td>
              <td>
                <span class={`badge status-${a.status}`}>{a.status}</span>
              </td>
              <td>{fmtTime(a.decidedAt)}</td>
              <td>{a.decisions.map((d) => `${d.approver} (${d.verdict}): ${d.reason}`).join("; ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}

export function Pending({ a }: { a: ApprovalView }) {
  return (
    <li class="request" data-request={a.id} data-deadline={a.deadline}>
      <div class="request-head">
        <code>{a.id}</code> <span class="badge">{a.kind}</span> <strong>{a.requester}</strong> on{" "}
        <strong>{a.connection}</strong> · asked {fmtTime(a.createdAt)} · decide by {fmtTime(a.deadline)}{" "}
        <span class="countdown" aria-live="off"></span>
      </div>
      {a.statement ? <pre class="sql">{a.statement}</pre> : null}
      <p class="reason">
        {a.rule ? <span class="rule">{a.rule}</span> : null} {a.reason}
        {a.durationMs ? ` · for ${Math.round(a.durationMs / 60_000)} min` : ""}
      </p>
      {a.sessionId ? (
        <p>
          <a href={`/console/sessions/${encodeURIComponent(a.sessionId)}`}>session {a.sessionId}</a>
        </p>
      ) : null}
      <form class="decide" data-request={a.id}>
        <input name="reason" placeholder="Reason (required)" required maxlength={1000} />
        <button type="button" data-verdict="approve" class="approve">
          Approve
        </button>
        <button type="button" data-verdict="deny" class="deny">
          Deny
        </button>
        <span class="result" role="status"></span>
      </form>
    </li>
  );
}
