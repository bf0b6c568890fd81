// `custos audit export-key`: the gateway's audit public key as a file the operator keeps off the host
// (C2SP note verifier key, with its fingerprint), for `audit verify --public-key FILE`.
import { writeFileSync } from "node:fs";
import { publicKeyFile, publicKeyFingerprint } from "../audit/trust.ts";
import { loadConfig } from "../config/load.ts";
import { loadOrCreateGatewayKey } from "../identity/gateway-key.ts";
import { instanceId } from "../instance-id.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";

export const auditExportKeyCommand: CliCommand = {
  name: "audit export-key",
  summary: "write the gateway's audit public key file (for verify --public-key)",
  usage: `usage: custos audit export-key --config FILE [--out FILE]

Writes this gateway's Ed25519 audit key as a C2SP note verifier key with its SHA-256 fingerprint (to
stdout, or to --out, which must not exist yet). Keep the file away from the gateway's host and compare
the fingerprint with the one the gateway logs and publishes to its anchors (<anchor>/<log>.pub): it is
what \`custos audit verify --public-key FILE\` trusts. Creates the key on first use, like the gateway.`,
  async run(argv) {
    const { flags } = parseFlags(argv, { config: "string", out: "string" });
    if (typeof flags.config !== "string") throw new CliError("needs --config FILE", 2);
    const config = loadConfig(flags.config, process.env, { secrets: false });
    const key = await loadOrCreateGatewayKey(config.dataDir);
    const logId = instanceId(config.dataDir);
    const text = publicKeyFile(key.publicRaw, logId);
    if (typeof flags.out === "string") {
      try {
        writeFileSync(flags.out, text, { flag: "wx", mode: 0o644 });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new CliError(
          code === "EEXIST" ? `${flags.out} exists; not overwritten` : `cannot write ${flags.out} (${code})`,
        );
      }
      process.stderr.write(`wrote ${flags.out}: ${publicKeyFingerprint(key.publicRaw)}\n`);
    } else process.stdout.write(text);
    return 0;
  },
};
