// Maps FFIEC rows F1–F17 (shared/ffiec-controls.md) to what this bundle holds. Honest by construction:
// a control is "evidenced" only when the bundle carries events or artefacts for it, "none in range" when
// Custos records it but nothing happened in the range, and "not evidenced" when the bundle has nothing.
import type { Summary } from "./summary.ts";

export type ControlStatus = "evidenced" | "partial" | "none in range" | "not evidenced";

export interface ControlEvidence {
  id: string;
  title: string;
  status: ControlStatus;
  artefacts: string[];
  detail: string;
}

export interface ControlInputs {
  summary: Summary;
  eventsByType: Record<string, number>;
  checkpoints: number;
  consistencyProofs: number;
  recordings: number;
  policyContents: number;
  connections: number;
  approvalRows: number;
}

export function mapControls(x: ControlInputs): ControlEvidence[] {
  const n = (t: string) => x.eventsByType[t] ?? 0;
  const some = (cond: boolean, yes: ControlStatus = "evidenced"): ControlStatus =>
    cond ? yes : "none in range";
  const approvals = Object.entries(x.eventsByType)
    .filter(([t]) => t.startsWith("approval."))
    .reduce((a, [, v]) => a + v, 0);
  const events = "logs/*/events.jsonl";
  const report = "report/summary.json";
  return [
    {
      id: "F1",
      title: "privileges tied to a unique ID; no shared privileged accounts",
      status: some(n("session.start") > 0),
      artefacts: [events, report, "report/access.csv"],
      detail: `${n("session.start")} session.start events bind the IdP identity (issuer, subject, groups, agent/on-behalf-of actor) to the target account used.`,
    },
    {
      id: "F2",
      title: "need-to-use privileges; management approval",
      status: some(approvals > 0),
      artefacts: [events, "approvals/requests.json", "approvals/decisions.json", report],
      detail: `${approvals} approval events in range (requests, approvals, denials, expiries, revocations); request rows as stored: ${x.approvalRows}. The rows are the store's projection, the events are what the Merkle log proves.`,
    },
    {
      id: "F3",
      title: "granting and extent of privileged access documented",
      status: x.policyContents > 0 && x.connections > 0 ? "evidenced" : "partial",
      artefacts: ["inventory/entitlements.json", "inventory/connections.json", "policy/bundles.json"],
      detail: `Entitlements (groups to connections, standing or just-in-time) from the configuration at export time; policy bundles in force by hash (${x.policyContents} with content).`,
    },
    {
      id: "F4",
      title: "logging and independent monitoring of privileged use",
      status: n("statement") > 0 ? (x.recordings > 0 ? "evidenced" : "partial") : "none in range",
      artefacts: [events, "recordings/", "report/access.csv"],
      detail: `${n("statement")} per-command events (who, target, statement, decision and rule, rows, outcome); ${x.recordings} recording batches. SIEM delivery is not shown by the bundle (see the gateway's custos_siem_* metrics).`,
    },
    {
      id: "F5",
      title: "independent periodic review of privileged access",
      status: "not evidenced",
      artefacts: [],
      detail:
        "The bundle supports a review (sessions and entitlements per identity) but holds no reviewer attestation: Custos records none.",
    },
    {
      id: "F6",
      title: "access monitored by user, terminal, date and time",
      status: some(n("session.start") > 0),
      artefacts: [events, report],
      detail:
        "session.start/session.end give identity, source address, client application, target, start, end and bytes.",
    },
    {
      id: "F7",
      title: "robust authentication; access logged; alerts on significant events",
      status: some(n("auth.success") + n("auth.failure") + n("access.denied") > 0),
      artefacts: [events, report],
      detail: `${n("auth.success")} authentications, ${n("auth.failure") + n("access.denied")} refusals with reason. Alerting is the SIEM's (not in the bundle).`,
    },
    {
      id: "F8",
      title: "MFA for privileged access; encryption",
      status: some(n("auth.success") > 0, "partial"),
      artefacts: [events],
      detail:
        "auth.success carries amr/acr as the IdP sent them and session.start the client TLS state; Custos does not itself enforce step-up.",
    },
    {
      id: "F9",
      title: "no administrator can hide activity; more approval as criticality rises",
      status: "partial",
      artefacts: ["logs/*/checkpoints.json", "logs/*/inclusion-proofs.jsonl", events],
      detail: `Signed checkpoints and proofs make edits to the log detectable; approvals record the approver and count (${approvals} events); recording reads are audited (${n("recording.read")} in range).`,
    },
    {
      id: "F10",
      title: "application and service accounts: stronger authentication and monitoring",
      status: some(x.summary.subjects.length > 0),
      artefacts: [report, "inventory/connections.json", events],
      detail: `${x.summary.subjects.length} identities with their kind (agent/human) and method; target credentials stay in the gateway (inventory lists accounts, no secrets).`,
    },
    {
      id: "F11",
      title: "log integrity",
      status: x.checkpoints > 0 ? "evidenced" : "not evidenced",
      artefacts: [
        "logs/*/checkpoints.json",
        "logs/*/consistency-proofs.json",
        "logs/*/inclusion-proofs.jsonl",
        "verify.py",
      ],
      detail: `${x.checkpoints} signed checkpoints, ${x.consistencyProofs} consistency proofs; every event has an inclusion proof. Run verify.py.`,
    },
    {
      id: "F12",
      title: "retention; central repository; timely transmission",
      status: (x.summary.totals.pruned_events ?? 0) > 0 ? "partial" : "not evidenced",
      artefacts: (x.summary.totals.pruned_events ?? 0) > 0 ? [events, "MANIFEST.json"] : [],
      detail: `Retention settings and SIEM delivery lag are not part of this bundle. ${x.summary.totals.pruned_events ?? 0} events in range were pruned by retention: their leaf hashes and inclusion proofs remain, their content does not.`,
    },
    {
      id: "F13",
      title: "controls on log settings",
      status: some(n("gateway.start") + n("policy.reload") > 0, "partial"),
      artefacts: ["policy/bundles.json", events],
      detail:
        "Policy loads and gateway starts (with the config file's hash) are logged events; the configuration's content is not.",
    },
    {
      id: "F14",
      title: "logging practices reviewed by an independent party",
      status: "evidenced",
      artefacts: ["verify.py", "MANIFEST.json", "MANIFEST.sig"],
      detail: "This bundle and its independent verifier (Python standard library only), runnable offline.",
    },
    {
      id: "F15",
      title: "oversight of third parties",
      status: some(x.summary.subjects.length > 0, "partial"),
      artefacts: [report],
      detail:
        "Activity per identity and issuer; Custos has no vendor register to group identities by vendor.",
    },
    {
      id: "F16",
      title: "monitoring reports usable in legal proceedings",
      status: x.checkpoints > 0 ? "evidenced" : "not evidenced",
      artefacts: ["logs/*/", "MANIFEST.json", "MANIFEST.sig"],
      detail:
        "Events with their logged bytes, inclusion and consistency proofs, signed checkpoints and public keys.",
    },
    {
      id: "F17",
      title: "time-outs and layered security",
      status: some(n("session.end") > 0),
      artefacts: ["inventory/connections.json", report],
      detail: `${x.summary.timeouts.length} sessions ended by a time-out or grant expiry in range; idle and absolute limits per connection in the inventory.`,
    },
  ];
}
