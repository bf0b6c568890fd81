// `custos demo`: the whole product on one machine with nothing configured — an embedded bank database
// (PGlite over the wire), the gateway in front of it with the embedded audit store and the default policy
// pack, and a ready-to-paste psql line carrying a fresh agent token.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseConfig } from "../config/load.ts";
import { createLogger } from "../core/log.ts";
import { startDemoDatabase } from "../demo/database.ts";
import { startGateway } from "../gateway.ts";
import { loadOrCreateGatewayKey } from "../identity/gateway-key.ts";
import { issueGatewayToken } from "../identity/gateway-tokens.ts";
import { shippedBundle } from "../policy/shipped.ts";
import { COMPILED, PROJECT_ROOT } from "../project-files.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import { runUntilSignalled } from "./serve.ts";

// From a checkout the demo keeps its data in the repository's data/ (gitignored); the executable in the
// working directory's.
const DEFAULT_DATA_DIR = COMPILED ? resolve("data", "demo") : join(PROJECT_ROOT, "data", "demo");

export const demoCommand: CliCommand = {
  name: "demo",
  summary: "run the gateway in front of an embedded demo bank database",
  usage: `usage: custos demo [--port 15432] [--http-port 8080] [--data-dir ./data/demo]

Starts an embedded PostgreSQL-compatible bank database (PGlite) with customers, accounts, cards and
transactions, and the gateway in front of it as connection "bank" with the embedded audit store and the
default policy pack. Prints a psql command line carrying a fresh agent token (8 hours) and a one-time link
that opens the web console as a demo admin (10 minutes). Ctrl-C stops both.
Sessions and the audit log stay in the data directory: try
  ./custos sessions list --config <data-dir>/custos.yaml   and   ./custos audit verify --config …`,
  async run(argv) {
    const { flags } = parseFlags(argv, { port: "string", "http-port": "string", "data-dir": "string" });
    const port = Number(flags.port ?? 15432);
    const httpPort = Number(flags["http-port"] ?? 8080);
    if (!Number.isInteger(port) || !Number.isInteger(httpPort))
      throw new CliError("ports must be integers", 2);
    const dataDir = resolve((flags["data-dir"] as string | undefined) ?? DEFAULT_DATA_DIR);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });

    const logger = createLogger("warn");
    const db = await startDemoDatabase({ snapshotDir: join(dataDir, "pglite-snapshot"), log: logger });
    const raw = {
      listen: { postgres: `127.0.0.1:${port}`, http: `127.0.0.1:${httpPort}` },
      data_dir: dataDir,
      identity: { agent_groups: ["agents"] },
      // The console's demo admin (a gateway token printed as a one-time link) holds every console role.
      console: { roles: { admin: ["custos-admins"], approver: ["custos-admins"], auditor: [] } },
      connections: [
        {
          name: "bank",
          type: "postgres",
          target: {
            host: db.host,
            port: db.port,
            database: db.database,
            user: db.user,
            password_env: "CUSTOS_DEMO_DB_PASSWORD",
            tls: "disable",
          },
          allow_groups: ["agents", "analysts", "dba"],
          labels: ["regulated"],
          table_labels: { "public.customers": ["regulated"], "public.cards": ["regulated"] },
        },
      ],
    };
    const config = parseConfig(raw, dataDir, { CUSTOS_DEMO_DB_PASSWORD: db.password });
    await Bun.write(join(dataDir, "custos.yaml"), demoConfigFile(dataDir, port, httpPort));
    let gw: Awaited<ReturnType<typeof startGateway>>;
    try {
      gw = await startGateway(config, { logger, policyBundle: await shippedBundle() });
    } catch (err) {
      await db.stop();
      throw err;
    }
    const key = await loadOrCreateGatewayKey(dataDir);
    const token = await issueGatewayToken(key, {
      subject: "demo-agent",
      groups: ["agents"],
      kind: "agent",
      ttlMs: 8 * 3_600_000,
    });
    // One-time sign-in link for the web console: a short-lived gateway token for a demo admin, exchanged for
    // a session cookie on first use.
    const consoleToken = await issueGatewayToken(key, {
      subject: "demo-admin",
      groups: ["custos-admins"],
      kind: "human",
      ttlMs: 10 * 60_000,
    });
    const consoleUrl = `http://127.0.0.1:${gw.httpPort}/console/link?token=${consoleToken}`;
    process.stdout.write(
      [
        "",
        `Custos demo: gateway on 127.0.0.1:${gw.postgresPort} in front of an embedded bank database (PGlite).`,
        "Connect as the demo agent (the token is the password; it expires in 8 hours):",
        "",
        `  psql "postgresql://demo-agent:${token}@127.0.0.1:${gw.postgresPort}/bank?sslmode=require"`,
        "",
        "Try:  select * from customers limit 5;      (reads are allowed for agents)",
        "      delete from accounts;                 (denied: no WHERE; agents may not write)",
        "",
        "Web console (sessions, replay, approvals, audit integrity) as the demo admin; the link works once,",
        "within 10 minutes:",
        "",
        `  ${consoleUrl}`,
        "",
        `Health and metrics: http://127.0.0.1:${gw.httpPort}/healthz  /metrics`,
        `Afterwards:  ./custos sessions list --config ${join(dataDir, "custos.yaml")}`,
        `             ./custos audit verify --config ${join(dataDir, "custos.yaml")}`,
        "",
        "Ctrl-C stops the demo.",
        "",
      ].join("\n"),
    );
    await runUntilSignalled(gw, logger, 1_000);
    await db.stop();
    return 0;
  },
};

/** A config file for the read-only commands (sessions, audit verify) to find the demo's store and key. */
function demoConfigFile(dataDir: string, port: number, httpPort: number): string {
  return [
    "# Written by `custos demo` so that `custos sessions` and `custos audit verify` can read the demo's store.",
    "# The demo database's address and password change on every start, so this file has no connections.",
    `listen: {postgres: "127.0.0.1:${port}", http: "127.0.0.1:${httpPort}"}`,
    `data_dir: ${JSON.stringify(dataDir)}`,
    "",
  ].join("\n");
}
