// What `audit verify` and `audit prove` trust, from the flags and the config: the operator's key file and
// checkpoints (--public-key, --trusted-checkpoint), a file anchor (--anchor NAME|PATH), and otherwise this
// gateway's own key and signed head in its data_dir (audit/anchors/local-head.ts).
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { localHeadPath } from "../audit/anchors/local-head.ts";
import {
  parseSignedNotes,
  type Trust,
  TrustError,
  trustFromAnchorDir,
  trustFromFiles,
  trustFromKeys,
} from "../audit/trust.ts";
import type { ExpectedLog } from "../audit/verify.ts";
import type { Config } from "../config/types.ts";
import { GATEWAY_KEY_FILE, loadOrCreateGatewayKey } from "../identity/gateway-key.ts";
import { CliError } from "./command.ts";

/** The log `custos audit prune` writes its audit.prune events to, beside the gateway's own. */
export const maintenanceLogId = (own: string) => `${own}.maintenance`;

/** This data_dir's log id, without creating one (an auditor's copy of the config may have none). */
export function ownLogId(config: Config): string | null {
  const path = join(config.dataDir, "instance-id");
  return existsSync(path) ? readFileSync(path, "utf8").trim() || null : null;
}

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

/**
 * Without operator trust: this gateway's logs must be in the store, under its key, and reach the head it
 * signed last (kept in data_dir, not in the store).
 */
export async function ownExpectations(config: Config): Promise<ExpectedLog[]> {
  const own = ownLogId(config);
  if (!own || !existsSync(join(config.dataDir, GATEWAY_KEY_FILE))) return [];
  const key = await loadOrCreateGatewayKey(config.dataDir);
  const out: ExpectedLog[] = [];
  for (const logId of [own, maintenanceLogId(own)]) {
    const path = localHeadPath(config.dataDir, logId);
    let head = null;
    if (existsSync(path)) {
      try {
        head =
          (await parseSignedNotes(readFileSync(path, "utf8"), [key.publicRaw], path)).at(-1)?.checkpoint ??
          null;
      } catch (err) {
        throw new CliError(err instanceof Error ? err.message : String(err));
      }
    }
    if (logId === own || head) out.push({ logId, head, publicKey: key.publicRaw });
  }
  return out;
}
