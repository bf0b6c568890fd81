// The bundle's readable report: one self-contained HTML page (inline CSS, no script, no external asset),
// so an examiner can open it offline from the unpacked bundle.
import type { ControlEvidence } from "./controls.ts";
import type { Summary } from "./summary.ts";

const esc = (v: unknown) => String(v ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function table(cols: string[], rows: unknown[][], empty = "none in range"): string {
  if (rows.length === 0) return `<p class="none">${esc(empty)}</p>`;
  const head = cols.map((c) => `<th>${esc(c)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((v) => `<td>${esc(v)}</td>`).join("")}</tr>`).join("\n");
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export interface ReportHeader {
  createdAt: string;
  from: string;
  to: string;
  filters: Record<string, string | null>;
  logs: {
    logId: string;
    fingerprint: string;
    events: number;
    checkpoints: number;
    treeSize: number;
    unproven: number;
  }[];
  signerFingerprint: string;
}

export function renderHtml(h: ReportHeader, controls: ControlEvidence[], s: Summary): string {
  const status = (c: ControlEvidence) =>
    `<span class="st ${c.status.replace(/ /g, "-")}">${esc(c.status)}</span>`;
  const controlRows = controls
    .map(
      (c) =>
        `<tr><td>${esc(c.id)}</td><td>${esc(c.title)}</td><td>${status(c)}</td><td>${esc(c.detail)}</td><td>${c.artefacts.map((a) => `<code>${esc(a)}</code>`).join("<br>")}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Custos evidence ${esc(h.from)} – ${esc(h.to)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1b1b;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f1f1f1}code{font-size:12px}.none{color:#777;font-style:italic}
.st{padding:1px 6px;border-radius:3px;white-space:nowrap}.evidenced{background:#d8f0d8}.partial{background:#fff1c2}
.none-in-range{background:#e8eef7}.not-evidenced{background:#f7d4d4}
</style></head><body>
<h1>Custos evidence package</h1>
<p>Range <b>${esc(h.from)}</b> to <b>${esc(h.to)}</b>; filters: ${esc(JSON.stringify(h.filters))}; created ${esc(h.createdAt)}.</p>
<p>Manifest signed by the key with SHA-256 fingerprint <code>${esc(h.signerFingerprint)}</code>. Compare it with the
operator's published key, then run <code>python3 verify.py BUNDLE.tar.gz --public-key KEY</code>: this page is a
reading aid, the verifier is the proof.</p>
${table(
  [
    "log",
    "key fingerprint",
    "events",
    "checkpoints",
    "tree size",
    "events past the last checkpoint (not included)",
  ],
  h.logs.map((l) => [l.logId, l.fingerprint, l.events, l.checkpoints, l.treeSize, l.unproven]),
  "no logs",
)}
<h2>FFIEC controls</h2>
<table><thead><tr><th>id</th><th>control</th><th>status</th><th>evidence</th><th>artefacts</th></tr></thead><tbody>
${controlRows}
</tbody></table>
<h2>Totals</h2>
${table(["what", "count"], Object.entries(s.totals).sort())}
<h2>Sessions</h2>
${table(
  [
    "subject",
    "issuer",
    "kind",
    "connection",
    "target account",
    "client",
    "application",
    "start",
    "end",
    "end reason",
    "statements",
    "denied",
    "masked results",
    "recording batches",
  ],
  s.sessions.map((x) => [
    x.subject,
    x.issuer,
    x.kind,
    x.connection,
    x.target_user,
    x.client_addr,
    x.application,
    x.started_at,
    x.ended_at,
    x.end_reason,
    x.statements,
    x.denied,
    x.masked,
    x.recording_batches,
  ]),
)}
<h2>Denials</h2>
${table(
  ["time", "subject", "connection", "rule", "reason", "statement"],
  s.denials.map((d) => [d.time, d.subject, d.connection, d.rule, d.reason, d.statement]),
)}
<h2>Approvals and access requests</h2>
${table(
  ["time", "event", "request", "kind", "connection", "requester", "approvers"],
  s.approvals.map((a) => [
    a.time,
    a.type,
    a.request_id,
    a.kind,
    a.connection,
    a.requester,
    JSON.stringify(a.approvers ?? ""),
  ]),
)}
<h2>Masking applied</h2>
${table(
  ["time", "session", "rule", "statement", "results"],
  s.masking.map((m) => [m.time, m.session_id, m.rule, m.text, JSON.stringify(m.results ?? "")]),
)}
<h2>Time-outs</h2>
${table(
  ["subject", "connection", "start", "end", "reason"],
  s.timeouts.map((t) => [t.subject, t.connection, t.started_at, t.ended_at, t.end_reason]),
)}
<h2>Authentication failures and refused access</h2>
${table(
  ["time", "type", "code", "subject", "connection", "client"],
  s.auth_failures.map((a) => [a.time, a.type, a.code, a.subject, a.connection, a.client_addr]),
)}
<h2>Policy bundles loaded</h2>
${table(
  ["time", "event", "bundle sha256", "loaded", "config sha256"],
  s.policy_loads.map((p) => [p.time, p.type, p.bundle, p.ok, p.config_hash]),
)}
</body></html>
`;
}
