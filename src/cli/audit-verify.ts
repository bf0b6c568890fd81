// `custos audit verify`: recomputes every leaf and root of the audit log, checks every checkpoint and the
// consistency between them, against the operator's trust when given, and the sessions and approvals tables.
import type { VerifyReport } from "../audit/verify.ts";
import { verifyLog } from "../audit/verify.ts";
import { operatorTrust, ownExpectations } from "./audit-trust.ts";
import { type CliCommand, parseFlags } from "./command.ts";
import { cliLogId, withStore } from "./store-access.ts";

export const auditVerifyCommand: CliCommand = {
  name: "audit verify",
  summary: "verify the whole audit log (exit 0 when intact)",
  usage: `usage: custos audit verify --config FILE [--public-key FILE [--trusted-checkpoint FILE] | --anchor NAME|DIR]
                          [--log LOG_ID] [--json]

Recomputes every event's leaf hash and the Merkle root at every signed checkpoint, verifies each
checkpoint's Ed25519 signature and an RFC 6962 consistency proof between consecutive checkpoints, checks
that every stored recording batch matches the hash its audit event committed to, and recomputes the
sessions and approval tables from the events, naming every row that differs.

Trust: the store holds its own keys, so an attacker who can write it can rewrite everything. Give
verify what you hold outside the host:
  --public-key FILE          the gateway's key (custos audit export-key, or <anchor>/<log>.pub);
                             every log must be signed by it
  --trusted-checkpoint FILE  signed checkpoint(s) (C2SP signed notes) from an anchor or a witness;
                             the store's log must reach each one and agree with it (not shorter, not forked)
  --anchor NAME|DIR          a configured file anchor (audit.anchors[].name) or its directory: every log
                             it holds must be in the store and reach its last checkpoint
Without them, this gateway's log is checked against the key and the last checkpoint head in its data_dir.
A log that trust says existed but the store lacks is a failure. Event bodies removed by retention keep
their leaf hashes; each must be claimed by an audit.prune event and is counted as pruned.
Exits 0 when everything verifies; otherwise 1, naming the first entry that fails in each log.`,
  async run(argv) {
    const { flags } = parseFlags(argv, {
      config: "string",
      json: "boolean",
      log: "string",
      "public-key": "string",
      "trusted-checkpoint": "string",
      anchor: "string",
    });
    return withStore(flags.config, async (store, config) => {
      const trust = await operatorTrust(flags, config);
      const report = await verifyLog(store, {
        ...(trust ? { trust } : { expect: await ownExpectations(config) }),
        ...(typeof flags.log === "string" ? { logIds: [flags.log] } : {}),
      });
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(render(report));
      return report.ok ? 0 : 1;
    });
  },
};

function render(report: VerifyReport): string {
  const lines = [
    `trust: ${report.trust === "store" ? "the store's own keys only (give --public-key for more)" : report.trust}`,
  ];
  for (const log of report.logs) {
    const pruned = log.pruned.events + log.pruned.recordings;
    const counts = [
      `${log.events} events, ${log.checkpoints} checkpoints, ${log.recordings} recordings`,
      `${log.uncheckpointed} not yet checkpointed`,
      ...(log.trustedCheckpoints ? [`${log.trustedCheckpoints} trusted checkpoint(s) matched`] : []),
      ...(pruned
        ? [
            `${log.pruned.events + log.pruned.recordings} pruned by retention (${log.pruned.events} event bodies, ${log.pruned.recordings} recordings)`,
          ]
        : []),
    ].join(", ");
    if (log.ok) lines.push(`ok    ${log.logId}: ${counts}`);
    else {
      const f = log.firstFailure;
      const where = f
        ? [
            f.seq !== undefined ? `event ${f.seq}` : "",
            f.size !== undefined ? `checkpoint at size ${f.size}` : "",
          ]
            .filter(Boolean)
            .join(", ")
        : "";
      lines.push(`FAIL  ${log.logId}: ${where ? `${where}: ` : ""}${f?.reason ?? "unknown"} (${counts})`);
    }
  }
  if (report.logs.length === 0) lines.push("no audit logs in the store");
  const p = report.projections;
  if (p) {
    const s = p.sessions;
    const a = p.approvals;
    lines.push(
      `${p.ok ? "ok  " : "FAIL"}  views: ${s.checked} sessions (${s.mismatched} differ from the log${s.unverifiable ? `, ${s.unverifiable} pruned` : ""}), ${a.checked} approval requests (${a.mismatched} differ${a.pending ? `, ${a.pending} not yet logged` : ""}${a.unverifiable ? `, ${a.unverifiable} pruned` : ""})`,
    );
    for (const m of p.rows) lines.push(`FAIL  ${m.table} ${m.id}: ${m.fields.join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}
