// Builds the audit's evidence parts from the config, for the gateway and the CLI: the anchors every signed
// checkpoint is published to (with this gateway's data_dir head first), the retention policy, and the
// periodic prune. Kept out of audit/ so audit/ never reads config.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CheckpointAnchor } from "./audit/anchor.ts";
import { AnchorPublisher } from "./audit/anchor.ts";
import { fileAnchor } from "./audit/anchors/file.ts";
import { httpAnchor } from "./audit/anchors/http.ts";
import { HEAD_DIR, localHeadAnchor, localHeadPath } from "./audit/anchors/local-head.ts";
import type { RetentionPolicy } from "./audit/prune.ts";
import { parseSignedNotes } from "./audit/trust.ts";
import type { ExpectedLog } from "./audit/verify.ts";
import type { Config } from "./config/types.ts";
import { CustosError } from "./core/errors.ts";
import type { Logger } from "./core/log.ts";
import { GATEWAY_KEY_FILE, loadOrCreateGatewayKey } from "./identity/gateway-key.ts";
import { isWorkerLogOf } from "./workers/worker-env.ts";

/**
 * Anchors from audit.anchors, plus the data_dir head. `extra` lets other sinks (SIEM) take checkpoints too.
 * An HTTP anchor whose secret this command did not load is skipped with a warning.
 */
export function createAnchorPublisher(
  config: Config,
  logger: Logger | null,
  extra: CheckpointAnchor[] = [],
): AnchorPublisher {
  const anchors: CheckpointAnchor[] = [localHeadAnchor(config.dataDir)];
  for (const a of config.audit.anchors) {
    if (a.type === "file") anchors.push(fileAnchor(a.name, a.path));
    else {
      let secret: string | null = null;
      try {
        secret = a.secret?.reveal() ?? null;
      } catch {
        logger?.warn("audit anchor skipped: its secret is not loaded by this command", { anchor: a.name });
        continue;
      }
      anchors.push(httpAnchor({ name: a.name, url: a.url, secret, auth: a.auth }));
    }
  }
  return new AnchorPublisher([...anchors, ...extra]);
}

export function retentionPolicy(config: Config): RetentionPolicy {
  return {
    defaults: config.audit.retention,
    connections: [...config.connections, ...config.httpConnections].flatMap((c) =>
      c.retention ? [{ name: c.name, retention: c.retention }] : [],
    ),
  };
}

/** The log `custos audit prune` writes its audit.prune events to, beside the gateway's own. */
export const maintenanceLogId = (own: string) => `${own}.maintenance`;
/** The CLI's own log (token.issued): signed with the gateway key, beside the gateway's log. */
export const cliLogId = (own: string) => `${own}.cli`;

/** This data_dir's log id, without creating one (an auditor's copy of the config may have none). */
export function ownLogId(config: Config): string | null {
  const path = join(config.dataDir, "instance-id");
  return existsSync(path) ? readFileSync(path, "utf8").trim() || null : null;
}

/** The worker logs (`<own>.w<n>`, listen.workers > 1) whose signed head this data_dir holds. */
function workerLogsWithHeads(config: Config, own: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(join(config.dataDir, HEAD_DIR));
  } catch {}
  return names
    .filter((n) => n.endsWith(".note"))
    .map((n) => n.slice(0, -".note".length))
    .filter((logId) => isWorkerLogOf(own, logId))
    .sort();
}

/**
 * Without operator trust: this gateway's logs must be in the store, under its key, and reach the head it
 * signed last (kept in data_dir, not in the store). With workers, each worker's log is one of them; the
 * single-process log is then expected only if it was ever signed.
 */
export async function ownExpectations(config: Config): Promise<ExpectedLog[]> {
  const own = ownLogId(config);
  if (!own || !existsSync(join(config.dataDir, GATEWAY_KEY_FILE))) return [];
  const key = await loadOrCreateGatewayKey(config.dataDir);
  const out: ExpectedLog[] = [];
  const workers = workerLogsWithHeads(config, own);
  for (const logId of [own, ...workers, maintenanceLogId(own), cliLogId(own)]) {
    const path = localHeadPath(config.dataDir, logId);
    let head = null;
    if (existsSync(path)) {
      try {
        head =
          (await parseSignedNotes(readFileSync(path, "utf8"), [key.publicRaw], path)).at(-1)?.checkpoint ??
          null;
      } catch (err) {
        throw new CustosError("audit.unavailable", err instanceof Error ? err.message : String(err));
      }
    }
    if ((logId === own && workers.length === 0) || head) out.push({ logId, head, publicKey: key.publicRaw });
  }
  return out;
}
