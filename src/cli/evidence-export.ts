// `custos evidence export`: an offline evidence bundle for a time range (see src/audit/evidence/).
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openApprovalRepository } from "../approvals/repository.ts";
import { importSigner } from "../audit/checkpoint.ts";
import { hex, sha256 } from "../audit/codec.ts";
import { exportEvidence } from "../audit/evidence/export.ts";
import { storeUrl } from "../gateway.ts";
import { GATEWAY_KEY_FILE, loadOrCreateGatewayKey } from "../identity/gateway-key.ts";
import { SHIPPED_BUNDLE } from "../policy/shipped.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import { inventory } from "./evidence-inventory.ts";
import { localOperator, recordEvents, withStore } from "./store-access.ts";

export function parseTime(value: unknown, name: string, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "string")
    throw new CliError(`needs --${name} TIME (ISO 8601, e.g. 2026-01-31T00:00:00Z)`, 2);
  if (value === "now") return Date.now();
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms))
    throw new CliError(`--${name}: "${value}" is not a time (ISO 8601 or epoch ms)`, 2);
  return ms;
}

export const evidenceExportCommand: CliCommand = {
  name: "evidence export",
  summary: "write an offline evidence bundle (events, proofs, recordings, report) for a time range",
  usage: `usage: custos evidence export --config FILE --from TIME [--to TIME] [--connection NAME]
                              [--subject SUBJECT] --out FILE.tar.gz

Writes one .tar.gz an examiner can verify offline: the events in the range (the logged msgpack bytes
and their decoded JSON), their leaf hashes and inclusion proofs against the range's last checkpoint,
consistency proofs between its checkpoints, the signed checkpoints and public keys, the recordings of
the sessions in range, the policy bundles in force, the connection inventory and entitlements (no
secrets), access requests and approvals, and a report mapping FFIEC F1-F17 to these artefacts
(report/index.html, controls.json, summary.json, access.csv). The manifest is signed with the gateway
key in data_dir. verify.py inside the bundle verifies it with Python 3 alone.
TIME is ISO 8601 or epoch milliseconds; --to defaults to now. Events past the newest checkpoint are left
out (no signature covers them yet) and counted.`,
  async run(argv) {
    const { flags } = parseFlags(argv, {
      config: "string",
      from: "string",
      to: "string",
      connection: "string",
      subject: "string",
      out: "string",
    });
    const from = parseTime(flags.from, "from");
    const to = parseTime(flags.to, "to", Date.now());
    if (to < from) throw new CliError("--to is before --from", 2);
    if (typeof flags.out !== "string") throw new CliError("needs --out FILE.tar.gz", 2);
    const out = flags.out;
    return withStore(flags.config, async (store, config) => {
      if (!existsSync(join(config.dataDir, GATEWAY_KEY_FILE))) {
        throw new CliError(`no gateway key in ${config.dataDir}: the manifest is signed with it`);
      }
      const key = await loadOrCreateGatewayKey(config.dataDir);
      const signer = await importSigner({ privateKeyPkcs8: key.pkcs8, publicKeyRaw: key.publicRaw });
      const repo = await openApprovalRepository(storeUrl(config));
      let requests: unknown[] = [];
      let decisions: unknown[] = [];
      try {
        const rows = (await repo.list({ limit: 100_000 })).filter(
          (r) => r.createdAt >= from && r.createdAt <= to,
        );
        requests = rows.map(({ decisions: _, ...r }) => r);
        decisions = rows.flatMap((r) => r.decisions);
      } finally {
        await repo.close();
      }
      const bundles = new Map<string, Uint8Array>();
      const bundlePath = config.policy.bundle ?? SHIPPED_BUNDLE;
      if (existsSync(bundlePath)) {
        const bytes = new Uint8Array(readFileSync(bundlePath));
        bundles.set(hex(sha256(bytes)), bytes);
      }
      const sel = {
        from,
        to,
        ...(typeof flags.connection === "string" ? { connection: flags.connection } : {}),
        ...(typeof flags.subject === "string" ? { subject: flags.subject } : {}),
      };
      const result = await exportEvidence({
        store,
        selection: sel,
        signer,
        inventory: inventory(config),
        approvals: { requests, decisions },
        policyBundles: bundles,
      });
      writeFileSync(out, result.bytes, { mode: 0o640 });
      // Chain of custody (F14, F16): who exported which range, and the bundle's hash, in the CLI's signed
      // log. No event, no bundle.
      try {
        await recordEvents(config, key, [
          {
            type: "evidence.exported",
            time: Date.now(),
            data: {
              exported_by: localOperator(),
              from,
              to,
              ...(sel.connection ? { connection: sel.connection } : {}),
              ...(sel.subject ? { subject: sel.subject } : {}),
              events: result.events,
              logs: result.logs.map((l) => l.logId),
              bundle_sha256: hex(sha256(result.bytes)),
            },
          },
        ]);
      } catch (err) {
        rmSync(out, { force: true });
        throw new CliError(
          `the export could not be recorded in the audit log, so no bundle was kept: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      process.stdout.write(
        `wrote ${out}: ${result.events} events from ${result.logs.length} log(s), ${result.logs.reduce((n, l) => n + l.recordings.length, 0)} recording batches` +
          (result.unproven ? `; ${result.unproven} event(s) after the newest checkpoint left out` : "") +
          `\nsigned by key sha256 ${hex(sha256(key.publicRaw))}\n`,
      );
      return 0;
    });
  },
};
