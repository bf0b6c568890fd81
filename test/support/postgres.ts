// Starts a real PostgreSQL server for tests: initdb in a temp dir, a free loopback port, one role per
// upstream authentication method (scram-sha-256, md5, cleartext password, trust), optional TLS.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";

export interface PgRole {
  user: string;
  password: string;
}

export interface PgServer {
  host: string;
  port: number;
  dataDir: string;
  /** Owner of the cluster; trust over the unix socket only. */
  superuser: string;
  database: string;
  roles: { scram: PgRole; md5: PgRole; password: PgRole; trust: PgRole };
  url(role?: PgRole, database?: string): string;
  /** Runs SQL as the superuser through psql over the unix socket. */
  sql(statement: string, database?: string): string;
  stop(): Promise<void>;
}

const BIN_DIRS = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"];

export function pgBin(name: string): string {
  for (const dir of BIN_DIRS) {
    const path = join(dir, name);
    if (Bun.file(path).size > 0) return path;
  }
  const found = Bun.which(name);
  if (!found) throw new Error(`${name} not found: run scripts/setup-test-deps`);
  return found;
}

function run(cmd: string[], env?: Record<string, string>): string {
  const proc = Bun.spawnSync(cmd, { env: { ...process.env, ...env }, stderr: "pipe", stdout: "pipe" });
  if (proc.exitCode !== 0) {
    throw new Error(`${cmd.join(" ")} failed: ${proc.stderr.toString()}${proc.stdout.toString()}`);
  }
  return proc.stdout.toString();
}

export async function startPostgres(
  opts: { ssl?: boolean; settings?: Record<string, string> } = {},
): Promise<PgServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "custos-pg-"));
  const socketDir = join(dataDir, "sock");
  mkdirSync(socketDir);
  const superuser = "custos_admin";
  const port = await freePort();
  // initdb and postgres refuse to run as root; the tests run as root in CI, so drop to nobody-like user.
  const asUser = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  if (asUser.length) run(["chown", "-R", "postgres", dataDir]);
  run([
    ...asUser,
    pgBin("initdb"),
    "-D",
    join(dataDir, "db"),
    "-U",
    superuser,
    "-A",
    "trust",
    "--no-sync",
    "-E",
    "UTF8",
  ]);
  const conf = join(dataDir, "db", "postgresql.conf");
  const lines = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${socketDir}'`,
    "fsync = off",
    "synchronous_commit = off",
    "full_page_writes = off",
    "max_connections = 200",
    `password_encryption = 'scram-sha-256'`,
  ];
  if (opts.ssl) {
    const dir = join(dataDir, "db");
    run([
      "openssl",
      "req",
      "-new",
      "-x509",
      "-days",
      "2",
      "-nodes",
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      join(dir, "server.key"),
      "-out",
      join(dir, "server.crt"),
    ]);
    run(["chmod", "600", join(dir, "server.key")]);
    if (asUser.length) run(["chown", "postgres", join(dir, "server.key"), join(dir, "server.crt")]);
    lines.push("ssl = on");
  }
  for (const [k, v] of Object.entries(opts.settings ?? {})) lines.push(`${k} = '${v}'`);
  appendFileSync(conf, `${lines.join("\n")}\n`);
  const roles = {
    scram: { user: "custos_scram", password: "scram-upstream-Secret-7f3a" },
    md5: { user: "custos_md5", password: "md5-upstream-Secret-91bc" },
    password: { user: "custos_plain", password: "plain-upstream-Secret-44de" },
    trust: { user: "custos_trust", password: "" },
  };
  writeFileSync(
    join(dataDir, "db", "pg_hba.conf"),
    [
      "local all all trust",
      `host all ${roles.scram.user} 127.0.0.1/32 scram-sha-256`,
      `host all ${roles.md5.user} 127.0.0.1/32 md5`,
      `host all ${roles.password.user} 127.0.0.1/32 password`,
      `host all ${roles.trust.user} 127.0.0.1/32 trust`,
      `host all ${superuser} 127.0.0.1/32 trust`,
      "",
    ].join("\n"),
  );
  if (asUser.length) run(["chown", "-R", "postgres", dataDir]);
  run([
    ...asUser,
    pgBin("pg_ctl"),
    "-D",
    join(dataDir, "db"),
    "-l",
    join(dataDir, "log"),
    "-w",
    "-t",
    "30",
    "start",
  ]);

  const sql = (statement: string, database = "postgres") =>
    run([
      pgBin("psql"),
      "-X",
      "-q",
      "-t",
      "-A",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      socketDir,
      "-p",
      String(port),
      "-U",
      superuser,
      "-d",
      database,
      "-c",
      statement,
    ]);

  // md5 roles need an md5 hash stored, so switch the encryption for that one role's password.
  sql(`CREATE ROLE ${roles.scram.user} LOGIN SUPERUSER PASSWORD '${roles.scram.password}'`);
  sql(
    `SET password_encryption = 'md5'; CREATE ROLE ${roles.md5.user} LOGIN SUPERUSER PASSWORD '${roles.md5.password}'`,
  );
  sql(`CREATE ROLE ${roles.password.user} LOGIN SUPERUSER PASSWORD '${roles.password.password}'`);
  sql(`CREATE ROLE ${roles.trust.user} LOGIN SUPERUSER`);
  sql("CREATE DATABASE ledger");

  return {
    host: "127.0.0.1",
    port,
    dataDir,
    superuser,
    database: "ledger",
    roles,
    url: (role = roles.scram, database = "ledger") =>
      `postgres://${role.user}:${encodeURIComponent(role.password)}@127.0.0.1:${port}/${database}`,
    sql,
    async stop() {
      try {
        run([...asUser, pgBin("pg_ctl"), "-D", join(dataDir, "db"), "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
