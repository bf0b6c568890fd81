// A real gateway in front of a real MariaDB for the MySQL protocol's end-to-end tests: the OIDC test
// issuer, a `loans` connection of type mysql, the default policy bundle, and runners for the real
// clients (the mariadb CLI, mysql2) that present the token as the password over TLS.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { createLogger } from "../../src/core/log.ts";
import { type RunningGateway, startGateway } from "../../src/gateway.ts";
import { freePort } from "../support/free-port.ts";
import { type MariaDbServer, startMariaDb } from "../support/mariadb.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { defaultBundle } from "../support/policy-bundle.ts";

export interface MysqlHarness {
  db: MariaDbServer;
  issuer: OidcIssuer;
  gw: RunningGateway;
  port: number;
  /** The gateway's data_dir (its embedded audit store). */
  dataDir: string;
  logs: string[];
  token(subject: string, groups?: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** A further connection to the same server as another of its accounts (its password given in clear). */
export interface ExtraConnection {
  name: string;
  user: string;
  /** Defaults to the fixture account's password. */
  password?: string;
  tls?: string;
}

export async function startMysqlHarness(
  connection: Record<string, unknown> = {},
  extraConnections: ExtraConnection[] = [],
): Promise<MysqlHarness> {
  const db = await startMariaDb();
  const issuer = await startOidcIssuer();
  const dataDir = mkdtempSync(join(tmpdir(), "custos-mysql-gw-"));
  const logs: string[] = [];
  const logger = createLogger("debug", {}, (line) => void logs.push(line));
  const bundle = await defaultBundle();
  // A free port can be taken by another process between the probe and the bind (a busy shared machine):
  // start again on new ports.
  let gw: RunningGateway | undefined;
  for (let attempt = 0; !gw; attempt++) {
    const raw = {
      listen: {
        postgres: `127.0.0.1:${await freePort()}`,
        http: `127.0.0.1:${await freePort()}`,
        mysql: `127.0.0.1:${await freePort()}`,
      },
      data_dir: dataDir,
      identity: {
        issuers: [{ issuer: issuer.issuer, audience: "custos", groups_claim: "groups" }],
        agent_groups: ["agents"],
      },
      connections: [
        {
          name: "loans",
          type: "mysql",
          target: {
            host: db.host,
            port: db.port,
            database: db.database,
            user: db.user,
            password_env: "LOANS_DB_PASSWORD",
            tls: "prefer",
          },
          allow_groups: ["agents", "dba"],
          ...connection,
        },
        ...extraConnections.map((c, i) => ({
          name: c.name,
          type: "mysql",
          target: {
            host: db.host,
            port: db.port,
            database: db.database,
            user: c.user,
            password_env: `EXTRA_${i}_DB_PASSWORD`,
            tls: c.tls ?? "prefer",
          },
          allow_groups: ["agents", "dba"],
        })),
      ],
    };
    const env: Record<string, string> = { LOANS_DB_PASSWORD: db.password };
    extraConnections.forEach((c, i) => {
      env[`EXTRA_${i}_DB_PASSWORD`] = c.password ?? db.password;
    });
    const config = parseConfig(raw, dataDir, env);
    try {
      gw = await startGateway(config, { logger, policyBundle: bundle });
    } catch (err) {
      if (attempt >= 2 || !/EADDRINUSE|in use/i.test(String(err))) throw err;
    }
  }
  const port = gw.protocolPorts.mysql;
  if (!port) throw new Error("the mysql listener did not start");
  return {
    db,
    issuer,
    gw,
    port,
    dataDir,
    logs,
    token: (subject, groups = ["dba"]) =>
      issuer.mint({ iss: issuer.issuer, sub: subject, aud: "custos", groups }),
    async stop() {
      await gw.stop();
      await issuer.stop();
      await db.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const AGENT = ["agents"];

/** The mariadb CLI through the gateway (batch mode); async so the in-process gateway keeps running. */
export async function mariadbCli(port: number, token: string, sql: string, extra: string[] = []) {
  const proc = Bun.spawn(
    [
      "mariadb",
      "-h",
      "127.0.0.1",
      "-P",
      String(port),
      "-u",
      "agent",
      `-p${token}`,
      "--ssl",
      "--skip-ssl-verify-server-cert",
      "-D",
      "loans",
      "-B",
      ...extra,
    ],
    { stdin: Buffer.from(sql), stdout: "pipe", stderr: "pipe" },
  );
  const timer = setTimeout(() => proc.kill(), 30_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}
