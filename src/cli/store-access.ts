// Opens the audit store named by a config file, for the read-only commands (sessions, audit verify).
import { type AuditStore, openStore } from "../audit/store.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/types.ts";
import { storeUrl } from "../gateway.ts";
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
