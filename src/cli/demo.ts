// `custos demo`: the whole product on one machine with nothing configured — an embedded bank database
// (PGlite over the wire), the gateway in front of it with the embedded audit store and the default policy
// pack, and what a newcomer needs to see the whole flow: the agent's psql line, a write of the agent's that
// the pack holds for a human, and the approver's ways in (a console link and a `custos approve` line).
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
default policy pack; the connection has an approver group, so the agent's bounded writes wait for a human.
Prints a psql command line carrying a fresh agent token (8 hours), a write that will be held, a one-time
link that opens the web console as the demo admin and approver (the link works once within 10 minutes; the
console session lasts 8 hours), and a \`custos approve\` line with an approver token (8 hours). Ctrl-C stops
both. A new console link: custos console link --config <data-dir>/custos.yaml
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
      // The console's demo admin (a gateway token printed as a one-time link) holds every console role and
      // is one of the bank's approvers; the session it opens lasts as long as the demo's tokens.
      console: DEMO_CONSOLE,
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
          // Someone can approve, so the pack holds the agent's bounded writes for review instead of refusing
          // them; the wait is long enough to switch to the console.
          approvers: [APPROVER_GROUP, "custos-admins"],
          review_timeout: "10m",
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
    // The CLI approver: a second human, so the requester (the agent) and the deciders are distinct people.
    const approverToken = await issueGatewayToken(key, {
      subject: "demo-approver",
      groups: [APPROVER_GROUP],
      kind: "human",
      ttlMs: 8 * 3_600_000,
    });
    const consoleUrl = `http://127.0.0.1:${gw.httpPort}/console/link?token=${consoleToken}`;
    process.stdout.write(
      demoBanner({
        postgresPort: gw.postgresPort,
        httpPort: gw.httpPort,
        agentToken: token,
        approverToken,
        consoleUrl,
        configFile: join(dataDir, "custos.yaml"),
      }),
    );
    await runUntilSignalled(gw, logger, 1_000);
    await db.stop();
    return 0;
  },
};

const APPROVER_GROUP = "bank-approvers";
const DEMO_CONSOLE = {
  roles: { admin: ["custos-admins"], approver: ["custos-admins", APPROVER_GROUP], auditor: [] },
  session_ttl: "8h",
};

/** The suggested write: bounded (a WHERE on the key), so the pack holds it for the approvers. */
export const DEMO_HELD_WRITE = "update accounts set balance = balance + 100 where id = 1;";

interface BannerParts {
  postgresPort: number;
  httpPort: number;
  agentToken: string;
  approverToken: string;
  consoleUrl: string;
  configFile: string;
}

/** What the demo prints; README's walkthrough follows it step by step. */
export function demoBanner(p: BannerParts): string {
  return [
    "",
    `Custos demo: gateway on 127.0.0.1:${p.postgresPort} in front of an embedded bank database (PGlite).`,
    "",
    "1. Connect as the demo agent (the token is the password; it expires in 8 hours):",
    "",
    `  psql "postgresql://demo-agent:${p.agentToken}@127.0.0.1:${p.postgresPort}/bank?sslmode=require"`,
    "",
    "   select * from customers limit 5;          (allowed; SSNs, emails, phones come back masked)",
    "   delete from accounts;                     (denied: no WHERE)",
    `   ${DEMO_HELD_WRITE}`,
    "                                             (held: psql waits until an approver decides)",
    "",
    "2. Approve the held write in the web console (Approvals) as the demo admin; the link works once,",
    "   within 10 minutes, and the console session lasts 8 hours:",
    "",
    `  ${p.consoleUrl}`,
    "",
    "   or from another terminal as the demo approver, with the request ID psql shows while it waits:",
    "",
    `  CUSTOS_TOKEN=${p.approverToken} \\`,
    `    ./custos approve ID --reason "checked with the account owner" --config ${p.configFile}`,
    "",
    "3. Replay both sessions in the console (Sessions), or:",
    `  ./custos sessions list --config ${p.configFile}`,
    `  ./custos audit verify --config ${p.configFile}`,
    `  ./custos console link --config ${p.configFile}     (a new console sign-in link)`,
    "",
    `Health and metrics: http://127.0.0.1:${p.httpPort}/healthz  /metrics`,
    "Ctrl-C stops the demo.",
    "",
  ].join("\n");
}

/**
 * A config file for the CLI (sessions, audit verify, console link, approve) to find the demo's store, key,
 * console roles and HTTP address.
 */
function demoConfigFile(dataDir: string, port: number, httpPort: number): string {
  return [
    "# Written by `custos demo` for the CLI: `custos sessions`, `audit verify`, `console link`, `approve`.",
    "# The demo database's address and password change on every start, so this file has no connections.",
    `listen: {postgres: "127.0.0.1:${port}", http: "127.0.0.1:${httpPort}"}`,
    `data_dir: ${JSON.stringify(dataDir)}`,
    "identity: {agent_groups: [agents]}",
    `console: ${JSON.stringify(DEMO_CONSOLE)}`,
    "",
  ].join("\n");
}
