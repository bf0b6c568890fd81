// The audit integrity panel: the cached `audit verify` result per log, the latest signed checkpoint of each,
// store counts, the loaded policy bundle and the configured connections (never their credentials).
/** @jsxImportSource hono/jsx */

import type { VerifyStatus } from "../admin/audit-status.ts";
import type { Principal } from "../admin/auth.ts";
import type { ConnectionSummary } from "../admin/deps.ts";
import { fmtTime, Page } from "./layout.tsx";

export interface LogSummary {
  logId: string;
  ours: boolean;
  checkpoints: number;
  latest: { size: number; rootHash: string; time: number } | null;
}

export function AuditPage(props: {
  principal: Principal;
  verify: VerifyStatus;
  logs: LogSummary[];
  counts: Record<string, number>;
  policy: { hash: string | null; loadedAt: number | null; source: string };
  connections: ConnectionSummary[];
}) {
  const v = props.verify;
  const state = v.error ? "error" : v.report === null ? "pending" : v.report.ok ? "ok" : "failed";
  return (
    <Page title="Audit integrity" principal={props.principal} active="audit">
      <h1>Audit integrity</h1>
      <section class={`verdict verdict-${state}`} id="verdict">
        <strong>
          {state === "ok"
            ? "Audit log verified: every leaf, root, checkpoint signature and recording hash checks out."
            : state === "failed"
              ? "Audit log verification FAILED."
              : state === "error"
                ? `Verification could not run: ${v.error}`
                : "Verification is running…"}
        </strong>
        <span class="hint">
          {" "}
          checked {fmtTime(v.checkedAt)} {v.tookMs !== null ? `in ${v.tookMs} ms` : ""}{" "}
          {v.running ? "(re-running)" : ""}
        </span>
        <button type="button" id="verify-now">
          Verify now
        </button>
      </section>
      <table class="logs">
        <thead>
          <tr>
            <th>Log</th>
            <th class="num">Events</th>
            <th class="num">Recordings</th>
            <th class="num">Not yet checkpointed</th>
            <th>Result</th>
            <th>Latest checkpoint</th>
          </tr>
        </thead>
        <tbody>
          {props.logs.map((l) => {
            const r = v.report?.logs.find((x) => x.logId === l.logId);
            return (
              <tr>
                <td>
                  <code>{l.logId}</code> {l.ours ? <span class="badge">this gateway</span> : null}
                </td>
                <td class="num">{r?.events ?? "—"}</td>
                <td class="num">{r?.recordings ?? "—"}</td>
                <td class="num">{r?.uncheckpointed ?? "—"}</td>
                <td>
                  {r ? (
                    r.ok ? (
                      <span class="badge status-approved">ok</span>
                    ) : (
                      <span class="badge status-denied">
                        failed at{" "}
                        {r.firstFailure?.seq !== undefined
                          ? `event ${r.firstFailure.seq}`
                          : `checkpoint ${r.firstFailure?.size}`}
                        : {r.firstFailure?.reason}
                      </span>
                    )
                  ) : (
                    "—"
                  )}
                </td>
                <td>
                  {l.latest ? (
                    <span>
                      size {l.latest.size} at {fmtTime(l.latest.time)}
                      <br />
                      <code class="hash">{l.latest.rootHash}</code>
                    </span>
                  ) : (
                    "none yet"
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {(v.report?.logs ?? [])
        .filter((r) => !r.ok && !props.logs.some((l) => l.logId === r.logId))
        .map((r) => (
          <p class="error integrity-warning" role="alert">
            Log <code>{r.logId}</code>: {r.firstFailure?.reason}
          </p>
        ))}
      {v.report?.projections ? (
        <section class="views" id="views">
          <h2>Views</h2>
          <p>
            {v.report.projections.sessions.checked} sessions rows, {v.report.projections.approvals.checked}{" "}
            approval requests recomputed from the events:{" "}
            {v.report.projections.ok ? (
              <span class="badge status-approved">all agree</span>
            ) : (
              <span class="badge status-denied">{v.report.projections.rows.length} differ from the log</span>
            )}
          </p>
          {v.report.projections.rows.length ? (
            <ul>
              {v.report.projections.rows.slice(0, 100).map((m) => (
                <li class="integrity-warning">
                  {m.table} <code>{m.id}</code>: {m.fields.join(", ")}
                </li>
              ))}
            </ul>
          ) : null}
        </section>
      ) : null}
      <h2>Store</h2>
      <p>
        {Object.entries(props.counts)
          .map(([k, n]) => `${n} ${k}`)
          .join(" · ")}
      </p>
      <h2>Policy bundle</h2>
      <p>
        {props.policy.hash ? (
          <span>
            <code class="hash">{props.policy.hash}</code> loaded {fmtTime(props.policy.loadedAt)} from{" "}
            {props.policy.source}
          </span>
        ) : (
          <span class="error">No policy bundle is loaded: every statement is refused.</span>
        )}
      </p>
      <h2>Connections</h2>
      <table class="connections">
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Target</th>
            <th>Allowed groups</th>
            <th>Access</th>
          </tr>
        </thead>
        <tbody>
          {props.connections.map((c) => (
            <tr>
              <td>{c.name}</td>
              <td>{c.type}</td>
              <td>
                <code>{c.target}</code> {c.user ? `as ${c.user}` : ""}
              </td>
              <td>{c.allowGroups.join(", ")}</td>
              <td>
                {c.access
                  ? `${c.access.mode}${c.access.approvers.length ? `; approver groups: ${c.access.approvers.join(", ")}` : ""}`
                  : "—"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Page>
  );
}
