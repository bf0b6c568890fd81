// Starts a real gateway for end-to-end tests: a temp data dir, free ports, one connection `ledger` to the
// test PostgreSQL through its SCRAM role, the test OIDC issuer trusted, the default policy bundle.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { createLogger, type Logger } from "../../src/core/log.ts";
import { type RunningGateway, startGateway } from "../../src/gateway.ts";
import { freePort } from "./free-port.ts";
import type { OidcIssuer } from "./oidc-issuer.ts";
import { defaultBundle } from "./policy-bundle.ts";
import type { PgServer } from "./postgres.ts";

export interface TestGateway {
  gw: RunningGateway;
  config: Config;
  dataDir: string;
  port: number;
  httpPort: number;
  /** Every log line the gateway wrote. */
  logs: string[];
  /** A token from the test issuer for this subject and groups. */
  token(subject: string, groups?: string[]): Promise<string>;
  /** A libpq connection URL for psql / postgres.js / pg. */
  url(token: string, database?: string): string;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  pg: PgServer;
  issuer: OidcIssuer;
  /** Extra or overriding config keys (YAML names). */
  config?: Record<string, unknown>;
  connection?: Record<string, unknown>;
  policyBundle?: string | null;
  dataDir?: string;
  storeUrl?: string;
  /** StartOptions.approvalsPollMs. */
  approvalsPollMs?: number;
}

export async function startTestGateway(opts: TestGatewayOptions): Promise<TestGateway> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "custos-gw-"));
  const env = { LEDGER_DB_PASSWORD: opts.pg.roles.scram.password };
  const raw = {
    listen: { postgres: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}` },
    data_dir: dataDir,
    identity: {
      issuers: [{ issuer: opts.issuer.issuer, audience: "custos", groups_claim: "groups" }],
      agent_groups: ["agents"],
    },
    connections: [
      {
        name: "ledger",
        type: "postgres",
        target: {
          host: opts.pg.host,
          port: opts.pg.port,
          database: opts.pg.database,
          user: opts.pg.roles.scram.user,
          password_env: "LEDGER_DB_PASSWORD",
          tls: "prefer",
        },
        allow_groups: ["agents", "dba"],
        ...opts.connection,
      },
    ],
    audit: opts.storeUrl ? { store: opts.storeUrl } : {},
    ...opts.config,
  };
  const config = parseConfig(raw, dataDir, env);
  const logs: string[] = [];
  const logger: Logger = createLogger("debug", {}, (line) => void logs.push(line));
  const bundle = opts.policyBundle === undefined ? await defaultBundle() : opts.policyBundle;
  const gw = await startGateway(config, {
    logger,
    policyBundle: bundle,
    ...(opts.approvalsPollMs ? { approvalsPollMs: opts.approvalsPollMs } : {}),
  });
  return {
    gw,
    config,
    dataDir,
    port: gw.postgresPort,
    httpPort: gw.httpPort,
    logs,
    token: (subject, groups = ["dba"]) =>
      opts.issuer.mint({ iss: opts.issuer.issuer, sub: subject, aud: "custos", groups }),
    url: (token, database = "ledger") =>
      `postgres://agent:${encodeURIComponent(token)}@127.0.0.1:${gw.postgresPort}/${database}?sslmode=disable`,
    async stop() {
      await gw.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs psql against a URL; returns stdout, stderr and the exit code. Asynchronous on purpose: the gateway
 * runs in the test's own process, so a blocking spawn would deadlock it.
 */
export async function psql(url: string, args: string[], input?: string) {
  const proc = Bun.spawn(["psql", "-X", "-v", "ON_ERROR_STOP=1", url, ...args], {
    stdin: input === undefined ? "ignore" : Buffer.from(input),
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, PGCONNECT_TIMEOUT: "10" },
  });
  // A psql that hangs is a gateway bug to report, not a test that waits out its hook timeout.
  const timer = setTimeout(() => proc.kill(), 30_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return {
    stdout,
    stderr: proc.signalCode ? `${stderr}psql killed after 30 s (${proc.signalCode})` : stderr,
    code,
  };
}
