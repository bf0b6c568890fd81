// The things measured side by side: PostgreSQL itself, PgBouncer (session mode) in front of it, a bare Bun
// relay in front of it (the floor for any relay in this runtime), and Custos (a separate `custos serve`
// process) in front of it. Each is a libpq endpoint for pgbench.
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { CustosError } from "../../src/core/errors.ts";
import { freePort } from "../../test/support/free-port.ts";
import { type PgServer, startPostgres } from "../../test/support/postgres.ts";

export type TargetName = "direct" | "pgbouncer" | "relay" | "custos";
export const TARGETS: readonly TargetName[] = ["direct", "pgbouncer", "relay", "custos"];

export interface Endpoint {
  name: TargetName;
  port: number;
  database: string;
  user: string;
  /** What the client presents as its password: the role's password, or a Custos token. */
  password: string;
  /** Custos only: a token of kind `agent`, for the scenario the policy masks. */
  agentPassword?: string;
  /** The process whose memory is measured, when there is one. */
  pid?: number;
}

/**
 * PostgreSQL tuned for a benchmark on a small shared VM. fsync, synchronous_commit and full_page_writes stay
 * on so TPC-B-like writes pay a real commit; checkpoints are pushed out of the run and max_connections
 * covers 1,000 idle gateway sessions plus pgbench's clients.
 */
export const PG_SETTINGS: Record<string, string> = {
  fsync: "on",
  synchronous_commit: "on",
  full_page_writes: "on",
  max_connections: "1200",
  shared_buffers: "512MB",
  wal_buffers: "16MB",
  max_wal_size: "4GB",
  checkpoint_timeout: "30min",
  work_mem: "8MB",
  jit: "off",
};

export function startBenchPostgres(): Promise<PgServer> {
  return startPostgres({ settings: PG_SETTINGS });
}

export function directEndpoint(pg: PgServer): Endpoint {
  return {
    name: "direct",
    port: pg.port,
    database: pg.database,
    user: pg.roles.scram.user,
    password: pg.roles.scram.password,
  };
}

export interface Running {
  endpoint: Endpoint;
  stop(): Promise<void>;
  /** Null while the process runs; otherwise why it is gone, with the tail of its log. */
  exited?(): string | null;
}

async function waitForPort(port: number, proc: Subprocess, what: string, logFile: string): Promise<void> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    if (proc.exitCode !== null) break;
    try {
      const sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
      sock.end();
      return;
    } catch {
      await Bun.sleep(100);
    }
  }
  let log = "";
  try {
    log = readFileSync(logFile, "utf8").slice(-2000);
  } catch {}
  throw new CustosError("upstream.unreachable", `${what} did not start listening on ${port}: ${log}`);
}

/** PgBouncer in session mode, authenticating clients with SCRAM and reaching PostgreSQL with SCRAM. */
export async function startPgBouncer(pg: PgServer, bin: string): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), "custos-bench-pgb-"));
  const port = await freePort();
  const role = pg.roles.scram;
  // userlist.txt holds the plain password so PgBouncer can run SCRAM both ways (pgbouncer.org/config).
  writeFileSync(join(dir, "userlist.txt"), `"${role.user}" "${role.password}"\n`);
  writeFileSync(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `${pg.database} = host=127.0.0.1 port=${pg.port} dbname=${pg.database}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "pool_mode = session",
      "auth_type = scram-sha-256",
      `auth_file = ${join(dir, "userlist.txt")}`,
      "max_client_conn = 2000",
      "default_pool_size = 200",
      "max_db_connections = 0",
      `logfile = ${join(dir, "pgbouncer.log")}`,
      `pidfile = ${join(dir, "pgbouncer.pid")}`,
      "log_connections = 0",
      "log_disconnections = 0",
      "",
    ].join("\n"),
  );
  chmodSync(join(dir, "userlist.txt"), 0o600);
  // PgBouncer refuses to run as root; drop to the postgres system user as the test harness does.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { uid, gid } = pgUser();
    for (const f of [dir, join(dir, "userlist.txt"), join(dir, "pgbouncer.ini")]) chownSync(f, uid, gid);
  }
  const cmd = [...(asRoot ? ["runuser", "-u", "postgres", "--"] : []), bin, join(dir, "pgbouncer.ini")];
  const proc = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
  await waitForPort(port, proc, "PgBouncer", join(dir, "pgbouncer.log"));
  return {
    endpoint: { name: "pgbouncer", port, database: pg.database, user: role.user, password: role.password },
    async stop() {
      // Under runuser the signal reaches runuser, not PgBouncer (which then outlived bench/run): PgBouncer
      // is stopped by the pid it wrote itself.
      const pid = pgbouncerPid(dir);
      if (pid) signal(pid, "SIGINT");
      proc.kill("SIGINT");
      const until = Date.now() + 3000;
      while (pid && alive(pid) && Date.now() < until) await Bun.sleep(50);
      if (pid && alive(pid)) signal(pid, "SIGKILL");
      await Promise.race([proc.exited, Bun.sleep(1000)]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * bench/support/bare-relay.ts as its own process: bytes forwarded both ways, nothing parsed, decided or
 * recorded. The client authenticates to PostgreSQL through it with the role's own password.
 */
export async function startBareRelay(pg: PgServer): Promise<Running> {
  const port = await freePort();
  const logFile = join(mkdtempSync(join(tmpdir(), "custos-bench-relay-")), "relay.log");
  const script = join(import.meta.dir, "bare-relay.ts");
  const proc = Bun.spawn([process.execPath, script, String(port), String(pg.port)], {
    stdout: Bun.file(logFile),
    stderr: Bun.file(logFile),
  });
  await waitForPort(port, proc, "the bare relay", logFile);
  const role = pg.roles.scram;
  return {
    endpoint: {
      name: "relay",
      port,
      database: pg.database,
      user: role.user,
      password: role.password,
      pid: proc.pid,
    },
    async stop() {
      proc.kill("SIGTERM");
      await Promise.race([proc.exited, Bun.sleep(3000)]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
    },
  };
}

function pgbouncerPid(dir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dir, "pgbouncer.pid"), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {}
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function pgUser(): { uid: number; gid: number } {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (!uid || !gid) throw new CustosError("internal", "the postgres system user is missing");
  return { uid: Number(uid), gid: Number(gid) };
}

export interface CustosOptions {
  root: string;
  /** Write a CPU profile (Bun --cpu-prof, markdown too) into this directory when the gateway exits. */
  profileDir?: string;
  /** audit.sync: which statements are held until their record is durable. */
  sync?: "writes" | "all" | "none";
  /** More entries of `connections:` as YAML lines (the soak's HTTP connection), indented as the list is. */
  extraConnections?: string[];
}

/**
 * Custos as its own process (`custos serve`), with the shipped default policy pack, recording on and the
 * embedded SQLite audit store, in front of PostgreSQL through the SCRAM role.
 */
export async function startCustos(
  pg: PgServer,
  opts: CustosOptions,
): Promise<Running & { dataDir: string; httpPort: number }> {
  const dir = mkdtempSync(join(tmpdir(), "custos-bench-gw-"));
  const port = await freePort();
  const httpPort = await freePort();
  mkdirSync(join(dir, "data"));
  const config = join(dir, "custos.yaml");
  writeFileSync(
    config,
    [
      "listen:",
      `  postgres: 127.0.0.1:${port}`,
      `  http: 127.0.0.1:${httpPort}`,
      // One gateway process: the unit compared with the bare relay (one process) and the one whose RSS and
      // per-thread CPU are read from /proc. listen.workers defaults to one per CPU (issue 21): the pid
      // spawned here would be the supervisor, idle, while its workers serve.
      "  workers: 1",
      "data_dir: ./data",
      "identity:",
      "  gateway_tokens: {max_ttl: 24h}",
      "connections:",
      `  - name: ${pg.database}`,
      "    type: postgres",
      `    target: {host: 127.0.0.1, port: ${pg.port}, database: ${pg.database}, user: ${pg.roles.scram.user}, password_env: BENCH_DB_PASSWORD, tls: disable}`,
      "    allow_groups: [bench]",
      // One bench identity holds every idle session of the memory run and pgbench's clients.
      "    max_sessions_per_identity: 5000",
      ...(opts.extraConnections ?? []),
      "limits: {max_sessions: 5000}",
      "audit:",
      "  store: sqlite:./data/audit.db",
      `  sync: ${opts.sync ?? "writes"}`,
      "log:",
      "  level: info",
      "",
    ].join("\n"),
  );
  const bun = process.execPath;
  const env = { ...process.env, BENCH_DB_PASSWORD: pg.roles.scram.password };
  const token = (kind: string) => {
    const p = Bun.spawnSync(
      [
        bun,
        join(opts.root, "src/cli/main.ts"),
        "token",
        "issue",
        "--config",
        config,
        "--subject",
        `bench-${kind}`,
      ].concat(["--groups", "bench", "--kind", kind, "--ttl", "6h"]),
      { env, stdout: "pipe", stderr: "pipe" },
    );
    if (p.exitCode !== 0)
      throw new CustosError("internal", `custos token issue failed: ${p.stderr.toString()}`);
    return p.stdout.toString().trim();
  };
  const prof = opts.profileDir
    ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${opts.profileDir}`, "--cpu-prof-interval=250"]
    : [];
  const logFile = join(dir, "custos.log");
  const proc = Bun.spawn([bun, ...prof, join(opts.root, "src/cli/main.ts"), "serve", "--config", config], {
    env,
    stdout: "ignore",
    stderr: Bun.file(logFile),
  });
  await waitForPort(port, proc, "Custos", logFile);
  const tail = () => {
    try {
      return readFileSync(logFile, "utf8").trim().split("\n").slice(-5).join(" | ").slice(-1500);
    } catch {
      return "";
    }
  };
  return {
    exited: () =>
      proc.exitCode === null && proc.signalCode === null
        ? null
        : `custos serve exited (${proc.exitCode ?? proc.signalCode}): ${tail()}`,
    dataDir: dir,
    httpPort,
    endpoint: {
      name: "custos",
      port,
      database: pg.database,
      user: "bench",
      password: token("service"),
      agentPassword: token("agent"),
      pid: proc.pid,
    },
    async stop() {
      proc.kill("SIGTERM");
      await Promise.race([proc.exited, Bun.sleep(15_000)]);
      if (proc.exitCode === null) proc.kill("SIGKILL");
      // Keep the gateway's log (JSON lines, no secrets) for a post-mortem; the rest is throwaway.
      try {
        copyFileSync(logFile, join(opts.root, "bench/out", `custos-${Date.now()}.log`));
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
