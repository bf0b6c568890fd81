// `custos audit prune`: applies audit.retention (and connections[].retention) now. The audit.prune events
// go to this gateway's maintenance log (its own key, its own checkpoints, published to the anchors), so the
// CLI never competes with a running gateway for the next seq of the gateway's log.

import { importSigner } from "../audit/checkpoint.ts";
import { LogWriter } from "../audit/log-writer.ts";
import { hasRetention, pruneLog } from "../audit/prune.ts";
import { createAnchorPublisher, retentionPolicy } from "../audit-wiring.ts";
import { loadOrCreateGatewayKey } from "../identity/gateway-key.ts";
import { maintenanceLogId, ownLogId } from "./audit-trust.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import { withStore } from "./store-access.ts";

export const auditPruneCommand: CliCommand = {
  name: "audit prune",
  summary: "remove event bodies and recordings past audit.retention (hashes stay)",
  usage: `usage: custos audit prune --config FILE [--log LOG_ID] [--json]

Empties the bodies of this gateway's audit events and the payloads of its recordings older than
audit.retention (events, recordings; connections[].retention per connection), keeping every leaf hash and
SHA-256 so the Merkle tree and every signed checkpoint still verify. Only events already covered by a
signed checkpoint are pruned. Before removing anything it logs an audit.prune event naming exactly what it
removes (in the log <log>.maintenance, signed with the gateway's key and published to audit.anchors);
\`audit verify\` then reports them as "pruned by retention". The gateway runs the same job every
audit.prune_interval.`,
  async run(argv) {
    const { flags } = parseFlags(argv, { config: "string", log: "string", json: "boolean" });
    return withStore(flags.config, async (store, config) => {
      const policy = retentionPolicy(config);
      if (!hasRetention(policy))
        throw new CliError("no audit.retention (or connections[].retention) is configured", 2);
      const own = ownLogId(config);
      const logId = typeof flags.log === "string" ? flags.log : own;
      if (!own || !logId) throw new CliError("this data_dir has no audit log yet", 2);
      const key = await loadOrCreateGatewayKey(config.dataDir);
      const signer = await importSigner({ privateKeyPkcs8: key.pkcs8, publicKeyRaw: key.publicRaw });
      const writer = await LogWriter.open(store, maintenanceLogId(own), signer);
      const anchors = createAnchorPublisher(config, null);
      const record = async (e: Parameters<typeof writer.prepare>[0][number]) => {
        const p = await writer.prepare([e], new Map(), true);
        await store.commit(p.batch);
        writer.accept(p);
        if (p.batch.checkpoint) anchors.publish(p.batch.checkpoint, key.publicRaw);
      };
      const result = await pruneLog(store, logId, policy, record);
      await anchors.close(10_000);
      const failing = anchors.problems();
      if (flags.json)
        process.stdout.write(`${JSON.stringify({ ...result, anchors: anchors.statuses() }, null, 2)}\n`);
      else {
        process.stdout.write(
          `${logId}: ${result.events} event bodies and ${result.recordings} recordings pruned by retention (${result.rounds} audit.prune event(s))\n`,
        );
        for (const f of failing) process.stderr.write(`warning: ${f}\n`);
      }
      return 0;
    });
  },
};
