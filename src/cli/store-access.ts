// Opens the audit store named by a config file: for the read-only commands (sessions, audit verify), and
// for the commands that must leave evidence of what they did (token issue) before they do it.

import { hostname, userInfo } from "node:os";
import { importSigner } from "../audit/checkpoint.ts";
import { LogWriter } from "../audit/log-writer.ts";
import { type AuditStore, openStore } from "../audit/store.ts";
import { cliLogId, createAnchorPublisher } from "../audit-wiring.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import type { AuditEvent } from "../core/audit-event.ts";
import { CustosError } from "../core/errors.ts";
import { storeUrl } from "../gateway.ts";
import type { GatewayKey } from "../identity/gateway-key.ts";
import { instanceId } from "../instance-id.ts";
import { CliError } from "./command.ts";

export async function withStore<T>(
  configPath: unknown,
  fn: (store: AuditStore, config: Config) => Promise<T>,
): Promise<T> {
  if (typeof configPath !== "string") throw new CliError("needs --config FILE", 2);
  // Read-only: the targets' secrets are neither needed nor loaded.
  const config = loadConfig(configPath, process.env, { secrets: false });
  const store = await openStore(storeUrl(config));
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

export { cliLogId };

/** Who ran the command, as the operating system says: the CLI has no token of its own. */
export function localOperator(): { user: string; uid: number; host: string; sudo_user?: string } {
  const info = userInfo();
  const sudo = process.env.SUDO_USER;
  return { user: info.username, uid: info.uid, host: hostname(), ...(sudo ? { sudo_user: sudo } : {}) };
}

/**
 * Commits events to the CLI's log in the configured store, with a signed checkpoint, and returns once they
 * are durable. Throws audit.unavailable when they cannot be written: the caller then does nothing.
 */
export async function recordEvents(config: Config, key: GatewayKey, events: AuditEvent[]): Promise<void> {
  let store: AuditStore | undefined;
  try {
    store = await openStore(storeUrl(config));
    const signer = await importSigner({ privateKeyPkcs8: key.pkcs8, publicKeyRaw: key.publicRaw });
    const writer = await LogWriter.open(store, cliLogId(instanceId(config.dataDir)), signer);
    const prepared = await writer.prepare(events, new Map(), true);
    await store.commit(prepared.batch);
    // Its checkpoint leaves the store like the gateway's (data_dir head, configured anchors), so `audit
    // verify` can tell a cut or deleted CLI log (audit-wiring.ts ownExpectations).
    if (prepared.batch.checkpoint) {
      const anchors = createAnchorPublisher(config, null);
      anchors.publish(prepared.batch.checkpoint, key.publicRaw);
      await anchors.close(10_000);
    }
  } catch (err) {
    throw new CustosError(
      "audit.unavailable",
      `audit store unavailable: ${err instanceof Error ? err.message : String(err)}`,
    );
  } finally {
    await store?.close().catch(() => {});
  }
}
