// `custos audit verify`: recomputes every leaf and root of the audit log and checks every checkpoint.
import { verifyLog } from "../audit/verify.ts";
import { loadOrCreateGatewayKey } from "../identity/gateway-key.ts";
import { type CliCommand, parseFlags } from "./command.ts";
import { withStore } from "./store-access.ts";

export const auditVerifyCommand: CliCommand = {
  name: "audit verify",
  summary: "verify the whole audit log (exit 0 when intact)",
  usage: `usage: custos audit verify --config FILE [--json]

Recomputes every event's leaf hash and the Merkle root at every signed checkpoint, verifies each
checkpoint's Ed25519 signature against the gateway key in data_dir, checks that each checkpoint extends
the previous one, and that every stored recording batch matches the hash its audit event committed to.
Exits 0 with counts when everything verifies; otherwise exits 1 naming the first entry that fails.`,
  async run(argv) {
    const { flags } = parseFlags(argv, { config: "string", json: "boolean" });
    return withStore(flags.config, async (store, config) => {
      const key = await loadOrCreateGatewayKey(config.dataDir);
      const report = await verifyLog(store, { trustedPublicKey: key.publicRaw });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return report.ok ? 0 : 1;
      }
      for (const log of report.logs) {
        const counts = `${log.events} events, ${log.checkpoints} checkpoints, ${log.recordings} recordings, ${log.uncheckpointed} not yet checkpointed`;
        if (log.ok) process.stdout.write(`ok    ${log.logId}: ${counts}\n`);
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
          process.stdout.write(
            `FAIL  ${log.logId}: ${where ? `${where}: ` : ""}${f?.reason ?? "unknown"} (${counts})\n`,
          );
        }
      }
      if (report.logs.length === 0) process.stdout.write("no audit logs in the store\n");
      return report.ok ? 0 : 1;
    });
  },
};
