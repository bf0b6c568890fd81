// `custos migrate --config FILE`: applies the audit store's pending migrations, for the PostgreSQL store's
// owner at install and after each upgrade (deploy/README.md, "Audit store"). Gateways never migrate a shared
// store; until this has run they refuse to start naming this command.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { openStore, redactUrl } from "../audit/store.ts";
import { loadConfig } from "../config/load.ts";
import { storeUrl } from "../gateway.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";

export const migrateCommand: CliCommand = {
  name: "migrate",
  summary: "apply the audit store's pending schema migrations (as the store's owner)",
  usage: `usage: custos migrate --config FILE

Opens the audit store of FILE (audit.store / audit.store_env) and applies the migrations this build ships
that the store has not had yet, under the advisory lock gateways also take. Run it as the store's owner
(deploy/postgres/migrate.example.yaml), then run deploy/postgres/audit-store-roles.sql again so new tables
get their grants. Reads nothing else of FILE: no target secrets are needed. Exit 0 when the store is up to
date, 1 naming the store and the reason otherwise.`,
  async run(argv) {
    const { flags } = parseFlags(argv, { config: "string" });
    if (typeof flags.config !== "string") throw new CliError("migrate needs --config FILE", 2);
    const config = loadConfig(flags.config, process.env, { secrets: false });
    const url = storeUrl(config);
    // An embedded store migrated before the first start: its directory is the gateway's data_dir (0700).
    if (config.audit.store.kind === "embedded")
      mkdirSync(dirname(config.audit.store.path), { recursive: true, mode: 0o700 });
    // Opening a store applies what is pending (postgres-store.ts migrateLocked, sqlite-store.ts).
    const store = await openStore(url);
    await store.close();
    process.stdout.write(`audit store ${redactUrl(url)}: schema up to date\n`);
    return 0;
  },
};
