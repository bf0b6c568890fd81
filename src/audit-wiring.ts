// Builds the audit's evidence parts from the config, for the gateway and the CLI: the anchors every signed
// checkpoint is published to (with this gateway's data_dir head first), the retention policy, and the
// periodic prune. Kept out of audit/ so audit/ never reads config.
import type { CheckpointAnchor } from "./audit/anchor.ts";
import { AnchorPublisher } from "./audit/anchor.ts";
import { fileAnchor } from "./audit/anchors/file.ts";
import { httpAnchor } from "./audit/anchors/http.ts";
import { localHeadAnchor } from "./audit/anchors/local-head.ts";
import type { RetentionPolicy } from "./audit/prune.ts";
import type { Config } from "./config/types.ts";
import type { Logger } from "./core/log.ts";

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
