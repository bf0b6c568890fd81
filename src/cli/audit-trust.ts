// What `audit verify` and `audit prove` trust, from the flags and the config: the operator's key file and
// checkpoints (--public-key, --trusted-checkpoint), a file anchor (--anchor NAME|PATH), and otherwise this
// gateway's own key and signed head in its data_dir (audit/anchors/local-head.ts).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type Trust, TrustError, trustFromAnchorDir, trustFromFiles, trustFromKeys } from "../audit/trust.ts";
import type { Config } from "../config/types.ts";
import { CliError } from "./command.ts";

export { maintenanceLogId, ownExpectations, ownLogId } from "../audit-wiring.ts";

export async function operatorTrust(
  flags: Record<string, string | boolean | undefined>,
  config: Config,
): Promise<Trust | null> {
  const key = typeof flags["public-key"] === "string" ? resolve(flags["public-key"]) : undefined;
  const cps = typeof flags["trusted-checkpoint"] === "string" ? [resolve(flags["trusted-checkpoint"])] : [];
  const anchor = typeof flags.anchor === "string" ? flags.anchor : undefined;
  try {
    if (anchor !== undefined) {
      if (cps.length) throw new CliError("use either --anchor or --trusted-checkpoint, not both", 2);
      return await trustFromAnchorDir(anchorDir(anchor, config), key);
    }
    if (cps.length && !key) throw new CliError("--trusted-checkpoint needs --public-key FILE", 2);
    if (key) return cps.length ? await trustFromFiles(key, cps) : trustFromKeys(key);
    return null;
  } catch (err) {
    if (err instanceof TrustError) throw new CliError(err.message, 1);
    throw err;
  }
}

/** A configured file anchor by name, or a directory given directly. */
function anchorDir(nameOrPath: string, config: Config): string {
  const named = config.audit.anchors.find((a) => a.name === nameOrPath);
  if (named?.type === "file") return named.path;
  if (named) throw new CliError(`anchor ${nameOrPath} is an ${named.type} anchor: it cannot be read back`, 2);
  if (existsSync(nameOrPath)) return resolve(nameOrPath);
  const names = config.audit.anchors.map((a) => a.name).join(", ") || "none configured";
  throw new CliError(`--anchor ${nameOrPath}: no such anchor (${names}) or directory`, 2);
}
