// Runs pgbench against one endpoint and reads its figures: TPS from its summary, p50/p99 from the
// per-transaction log (-l), which is the only place pgbench exposes latency percentiles.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CustosError } from "../../src/core/errors.ts";
import type { Endpoint } from "./targets.ts";

export interface PgbenchSpec {
  /** Extra pgbench arguments: -S, -M extended, -f script, -C … */
  args: string[];
  clients: number;
  seconds: number;
  /** Use the endpoint's agent token (Custos) instead of its service token. */
  asAgent?: boolean;
}

export interface RunFigures {
  tps: number;
  transactions: number;
  failed: number;
  /** Per-transaction latencies in microseconds, from the -l log. */
  latenciesUs: number[];
}

export interface Summary {
  tps: number;
  transactions: number;
  failed: number;
}

/** Reads pgbench's closing summary. Throws when the figures a benchmark needs are missing. */
export function parseSummary(stdout: string): Summary {
  const tps = /^tps = ([0-9.]+)/m.exec(stdout);
  const processed = /^number of transactions actually processed: (\d+)/m.exec(stdout);
  if (!tps || !processed) {
    throw new CustosError("internal", `pgbench printed no tps/transactions summary: ${stdout.slice(-400)}`);
  }
  const failed = /^number of failed transactions: (\d+)/m.exec(stdout);
  return { tps: Number(tps[1]), transactions: Number(processed[1]), failed: failed ? Number(failed[1]) : 0 };
}

/** Latencies (µs, third column) from pgbench -l lines: `client_id tx_no time script_no epoch epoch_us`. */
export function parseTransactionLog(text: string, into: number[] = []): number[] {
  for (const line of text.split("\n")) {
    if (!line) continue;
    const cols = line.split(" ");
    const v = Number(cols[2]);
    if (cols.length < 6 || !Number.isFinite(v)) {
      throw new CustosError("internal", `unreadable pgbench log line: "${line.slice(0, 80)}"`);
    }
    into.push(v);
  }
  return into;
}

/** q-quantile (0..1) of values, nearest rank; NaN for none. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function pgbenchCommand(bin: string, ep: Endpoint, spec: PgbenchSpec, logPrefix: string): string[] {
  const threads = Math.min(spec.clients, 2);
  return [
    bin,
    "-n",
    ...spec.args,
    "-c",
    String(spec.clients),
    "-j",
    String(threads),
    "-T",
    String(spec.seconds),
    "-l",
    `--log-prefix=${logPrefix}`,
    "-h",
    "127.0.0.1",
    "-p",
    String(ep.port),
    "-U",
    ep.user,
    ep.database,
  ];
}

/** The command as a person would type it, with the password left out. */
export function showCommand(cmd: string[]): string {
  return cmd
    .map((a, i) => (i === 0 ? "pgbench" : a))
    .filter((a) => !a.startsWith("--log-prefix"))
    .join(" ");
}

export function pgbenchEnv(ep: Endpoint, asAgent = false): Record<string, string> {
  const password = asAgent ? (ep.agentPassword ?? ep.password) : ep.password;
  // sslmode=disable on every target: PostgreSQL here has no TLS, and the comparison must be like for like.
  return { ...process.env, PGPASSWORD: password, PGSSLMODE: "disable", PGCONNECT_TIMEOUT: "10" } as Record<
    string,
    string
  >;
}

export async function runPgbench(
  bin: string,
  ep: Endpoint,
  spec: PgbenchSpec,
  workDir: string,
): Promise<RunFigures> {
  const dir = mkdtempSync(join(workDir, "pgbench-"));
  try {
    const cmd = pgbenchCommand(bin, ep, spec, join(dir, "tx"));
    const proc = Bun.spawn(cmd, { env: pgbenchEnv(ep, spec.asAgent), stdout: "pipe", stderr: "pipe" });
    // A hard bound on top of -T: a stuck target must not stall the whole run.
    const killer = setTimeout(() => proc.kill("SIGKILL"), (spec.seconds + 60) * 1000);
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    clearTimeout(killer);
    if (code !== 0) {
      throw new CustosError("internal", `pgbench against ${ep.name} exited ${code}: ${stderr.slice(-600)}`);
    }
    const summary = parseSummary(stdout);
    const latenciesUs: number[] = [];
    for (const f of readdirSync(dir)) parseTransactionLog(readFileSync(join(dir, f), "utf8"), latenciesUs);
    return { ...summary, latenciesUs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
