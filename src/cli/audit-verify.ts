// `custos audit verify`: recomputes every leaf and root of the audit log and checks every checkpoint.
import { verifyLog } from "../audit/verify.ts";
import { loadOrCreateGatewayKey } from "../identity/gateway-key.ts";
import { instanceId } from "../instance-id.ts";
import { type CliCommand, parseFlags } from "./command.ts";
import { cliLogId, withStore } from "./store-access.ts";

export const auditVerifyCommand: CliCommand = {
  name: "audit verify",
  summary: "verify the whole audit log (exit 0 when intact)",
  usage: `usage: custos audit verify --config FILE [--log LOG_ID] [--json]

Recomputes every event's leaf hash and the Merkle root at every signed checkpoint, verifies each
checkpoint's Ed25519 signature (this gateway's own log against the key in its data_dir; other gateways'
logs in a shared store against the key they registered), checks that each checkpoint extends
the previous one, and that every stored recording batch matches the hash its audit event committed to.
Exits 0 with counts when everything verifies; otherwise exits 1 naming the first entry that fails.`,
  async run(argv) {
    const { flags } = parseFlags(argv, { config: "string", json: "boolean", log: "string" });
    return withStore(flags.config, async (store, config) => {
      // This gateway's own log is checked against the key in its data_dir (pinned); the logs of other
      // gateways sharing the store against the key each registered (--log narrows to one log).
      const key = await loadOrCreateGatewayKey(config.dataDir);
      const own = instanceId(config.dataDir);
      // The CLI's log (token.issued events) is signed with the same key: pinned too.
      const pinned = (id: string) => id === own || id === cliLogId(own);
      const all = (await store.logs()).map((l) => l.logId);
      const wanted = typeof flags.log === "string" ? [flags.log] : all;
      const mine = await verifyLog(store, {
        trustedPublicKey: key.publicRaw,
        logIds: wanted.filter(pinned),
      });
      const others = wanted.filter((id) => !pinned(id));
      const rest = others.length ? await verifyLog(store, { logIds: others }) : { ok: true, logs: [] };
      const report = { ok: mine.ok && rest.ok, logs: [...mine.logs, ...rest.logs] };
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
