// pgbench select-only through `custos serve` with listen.workers 1 and 2 (each its own process tree, as an
// operator runs it), and direct, alternating in one run so drift on the shared machine hits every target.
// Self-contained: its own PostgreSQL, two gateways started from the CLI, gateway tokens for an agent.
// Run: bun bench/workers.ts [seconds per run, default 10] [rounds, default 2]
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { type LongRunning, runCli, SOURCE_CLI, spawnCli } from "../test/support/cli-process.ts";
import { freePort } from "../test/support/free-port.ts";
import { pgBin, startPostgres } from "../test/support/postgres.ts";

const seconds = Number(process.argv[2] ?? 10);
const rounds = Number(process.argv[3] ?? 2);
const clients = 8;

const db = await startPostgres();
const root = mkdtempSync(join(tmpdir(), "custos-bench-workers-"));
const env = { LEDGER_PASSWORD: db.roles.scram.password };

interface Gateway {
  workers: number;
  port: number;
  http: number;
  token: string;
  serve: LongRunning;
}

async function startGateway(workers: number): Promise<Gateway> {
  const cwd = join(root, `w${workers}`);
  mkdirSync(cwd);
  const [port, http] = [await freePort(), await freePort()];
  const file = join(cwd, "custos.yaml");
  writeFileSync(
    file,
    [
      `listen: {postgres: "127.0.0.1:${port}", http: "127.0.0.1:${http}", workers: ${workers}}`,
      "data_dir: ./data",
      "log: {level: warn}",
      "identity: {agent_groups: [agents]}",
      "connections:",
      "  - name: ledger",
      "    type: postgres",
      `    target: {host: 127.0.0.1, port: ${db.port}, database: ${db.database}, user: ${db.roles.scram.user}, password_env: LEDGER_PASSWORD, tls: disable}`,
      "    allow_groups: [agents]",
      "    classification: {scan: false}",
      "",
    ].join("\n"),
  );
  const serve = spawnCli(SOURCE_CLI, ["serve", "--config", file], { cwd, env });
  // Wait for the bound port: at log level warn neither the supervisor nor a single process says "started".
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      (await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } })).end();
      break;
    } catch {
      if (Date.now() > deadline)
        throw new Error(`gateway (workers ${workers}) did not start:\n${serve.stderr}`);
      await Bun.sleep(200);
    }
  }
  if (workers > 1) await Bun.sleep(5_000); // the other workers bind a few seconds after worker 1
  const issued = runCli(
    SOURCE_CLI,
    ["token", "issue", "--config", file, "--subject", "bench-agent", "--groups", "agents"],
    {
      cwd,
      env,
    },
  );
  if (issued.exitCode !== 0) throw new Error(issued.stderr);
  return { workers, port, http, token: issued.stdout.trim(), serve };
}

async function pgbench(args: string[], password: string): Promise<string> {
  const proc = Bun.spawn([pgBin("pgbench"), ...args], {
    env: { ...process.env, PGSSLMODE: "disable", PGPASSWORD: password },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`pgbench ${args.join(" ")} failed: ${err}`);
  return out;
}

/** CPU seconds (user + system) of a process and all its descendants, from /proc (Linux, 100 Hz ticks). */
function treeCpuSeconds(root: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, "utf8");
      const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {}
  }
  let ticks = 0;
  const walk = (pid: number) => {
    ticks += stats.get(pid)?.ticks ?? 0;
    for (const [child, s] of stats) if (s.ppid === pid) walk(child);
  };
  walk(root);
  return ticks / 100;
}

/** Sessions each worker took so far (custos_sessions_total, summed over its labels). */
async function sessionsPerWorker(g: Gateway): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${g.http}/metrics`)).text();
  const per = new Map<string, number>();
  for (const m of text.matchAll(/^custos_sessions_total(?:\{([^}]*)\})? (\d+)/gm)) {
    const w = /worker="(\d+)"/.exec(m[1] ?? "")?.[1] ?? "1";
    per.set(w, (per.get(w) ?? 0) + Number(m[2]));
  }
  return [...per].map(([w, n]) => `w${w}: ${n}`).join(", ");
}

const gateways: Gateway[] = [];
try {
  const direct = ["-h", "127.0.0.1", "-p", String(db.port), "-U", db.roles.scram.user, "ledger"];
  await pgbench(["-i", "-q", "-s", "4", ...direct], db.roles.scram.password);
  gateways.push(await startGateway(1), await startGateway(2));
  const targets = [
    { name: "direct", args: direct, password: db.roles.scram.password },
    ...gateways.map((g) => ({
      name: `${g.workers} worker${g.workers > 1 ? "s" : ""}`,
      args: ["-h", "127.0.0.1", "-p", String(g.port), "-U", "bench-agent", "ledger"],
      password: g.token,
      gateway: g,
    })),
  ] as { name: string; args: string[]; password: string; gateway?: Gateway }[];
  const cpuPerTx: Record<string, number[]> = {};
  // Warm-up, not counted: each worker's JIT has seen the statement before the first measured run.
  for (const t of targets.slice(1))
    await pgbench(
      ["-S", "-M", "simple", "-c", String(clients), "-j", "2", "-T", "3", "-n", ...t.args],
      t.password,
    );
  const load = loadavg()[0]!.toFixed(1);
  const tps: Record<string, number[]> = {};
  const lat: Record<string, number[]> = {};
  for (let round = 0; round < rounds; round++) {
    for (const t of targets) {
      const cpuBefore = t.gateway ? treeCpuSeconds(t.gateway.serve.proc.pid) : 0;
      const out = await pgbench(
        ["-S", "-M", "simple", "-c", String(clients), "-j", "2", "-T", String(seconds), "-n", ...t.args],
        t.password,
      );
      const v = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
      const l = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1]);
      const txs = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1]);
      if (t.gateway) {
        const cpu = treeCpuSeconds(t.gateway.serve.proc.pid) - cpuBefore;
        push(cpuPerTx, t.name, (cpu * 1e6) / txs);
      }
      push(tps, t.name, v);
      push(lat, t.name, l);
      console.error(`${t.name} round ${round}: ${v.toFixed(0)} tps, ${l.toFixed(3)} ms`);
    }
  }
  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const base = avg(tps["1 worker"]!);
  console.log(
    `${availableParallelism()} CPUs, 1-min load average ${load} at start, ${clients} clients, -j 2, ${seconds} s × ${rounds} rounds`,
  );
  console.log(
    "| target | TPS per run | avg TPS | avg latency | vs 1 worker | gateway CPU per transaction | sessions per worker |",
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const t of targets) {
    const xs = tps[t.name]!;
    const cpu = cpuPerTx[t.name];
    console.log(
      `| ${t.name} | ${xs.map((x) => x.toFixed(0)).join(", ")} | ${avg(xs).toFixed(0)} | ${avg(lat[t.name]!).toFixed(3)} ms | ${(avg(xs) / base).toFixed(2)} | ${cpu ? `${avg(cpu).toFixed(0)} µs` : "—"} | ${t.gateway ? await sessionsPerWorker(t.gateway) : "—"} |`,
    );
  }
} finally {
  for (const g of gateways) await g.serve.stop();
  await db.stop();
  rmSync(root, { recursive: true, force: true });
}

function push(into: Record<string, number[]>, key: string, value: number): void {
  const list = into[key] ?? [];
  list.push(value);
  into[key] = list;
}
