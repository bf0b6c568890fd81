// bench/run: Custos against PostgreSQL directly and against PgBouncer (session mode), in one run, targets
// alternating so machine drift cancels out. Prints one table and rewrites its section of bench/RESULTS.md.
// Usage: bench/run [--quick] [--seconds N] [--rounds N] [--scale N] [--sessions N] [--only id,id] [--profile]
// [--no-write] [--sync writes|all|none]. Exit status 1 when a run or the masking probe failed, 3 when a
// target is missed. `--soak [--minutes N] [--sessions N] [--rate N]` runs the soak test instead (soak.ts).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { addCpu, type CpuTally, cpuLine, threadDelta, threadMicros } from "./support/cpu.ts";
import { findTools } from "./support/deps.ts";
import {
  createWideTable,
  initPgbench,
  WIDE_QUERY,
  writeInsertScripts,
  writeWideScript,
} from "./support/fixture.ts";
import { runHttpScenario } from "./support/http-scenario.ts";
import { load1, machineInfo } from "./support/machine.ts";
import { maskingActive } from "./support/masking-probe.ts";
import { openIdleSessions, rssKb, sampleRss } from "./support/memory.ts";
import { pgbenchCommand, runPgbench, showCommand } from "./support/pgbench.ts";
import { checkLines, checks, type ScenarioResult, table } from "./support/report.ts";
import { replaceSection } from "./support/results-md.ts";
import { order, scenarios, targetsFor } from "./support/scenarios.ts";
import { lastSoak } from "./support/soak-last.ts";
import {
  directEndpoint,
  type Endpoint,
  PG_SETTINGS,
  type Running,
  startBareRelay,
  startBenchPostgres,
  startCustos,
  startPgBouncer,
} from "./support/targets.ts";

const root = resolve(import.meta.dir, "..");

function maskingNote(masked: boolean | string): string {
  if (typeof masked === "string") return `**probe failed** (${masked.replace(/\s+/g, " ").slice(0, 200)})`;
  return masked
    ? "active (the agent's ssn, card_number and email differ from the direct read)"
    : "**not active** (the agent reads the same values as direct), so the wide-row query is measured unmasked";
}
const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    seconds: { type: "string" },
    rounds: { type: "string" },
    scale: { type: "string" },
    sessions: { type: "string" },
    profile: { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
    only: { type: "string" },
    sync: { type: "string", default: "writes" },
    soak: { type: "boolean", default: false },
    minutes: { type: "string" },
    rate: { type: "string" },
  },
});
const positive = (v: string | undefined, fallback: number, name: string) => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got "${v}"`);
  return n;
};
if (opt.soak) {
  const { runSoak } = await import("./soak.ts");
  process.exit(
    await runSoak({
      root,
      minutes: positive(opt.minutes, 10, "minutes"),
      sessions: positive(opt.sessions, 1000, "sessions"),
      rate: positive(opt.rate, 200, "rate"),
      httpClients: 4,
      write: !opt["no-write"],
    }),
  );
}
const quick = opt.quick ?? false;
// --quick: 3 s per run keeps the whole run (every goal's scenario, HTTP included) under 3 minutes here.
const seconds = positive(opt.seconds, quick ? 3 : 10, "seconds");
const rounds = positive(opt.rounds, quick ? 1 : 2, "rounds");
const scale = positive(opt.scale, quick ? 2 : 10, "scale");
const sessions = positive(opt.sessions, quick ? 200 : 1000, "sessions");
const sync = opt.sync ?? "writes";
if (!["writes", "all", "none"].includes(sync))
  throw new Error(`--sync must be writes, all or none, got "${sync}"`);
const log = (s: string) => console.error(`bench: ${s}`);

const tools = findTools(root);
const work = mkdtempSync(join("/tmp", "custos-bench-"));
const outDir = join(root, "bench/out");
mkdirSync(outDir, { recursive: true });
const started = Date.now();
const loadBefore = load1();
// The commit is read before the gateway starts: the tree may move (other work lands) while the run goes on.
const m = machineInfo(root);
const stops: (() => Promise<void>)[] = [];

try {
  log(
    `PostgreSQL (${Object.entries(PG_SETTINGS)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")})`,
  );
  const pg = await startBenchPostgres();
  stops.push(() => pg.stop());
  const initCmd = initPgbench(tools.pgbench, pg, scale);
  createWideTable(pg);
  const wideScript = writeWideScript(work);
  const insertScripts = writeInsertScripts(work);
  const bouncer: Running = await startPgBouncer(pg, tools.pgbouncer);
  stops.push(() => bouncer.stop());
  const relay: Running = await startBareRelay(pg);
  stops.push(() => relay.stop());
  const profileDir = opt.profile ? mkdtempSync(join(outDir, "profile-")) : undefined;
  const custos = await startCustos(pg, { root, profileDir, sync: sync as "writes" | "all" | "none" });
  stops.push(() => custos.stop());
  const gwPid = custos.endpoint.pid!;
  const endpoints: Endpoint[] = [directEndpoint(pg), bouncer.endpoint, relay.endpoint, custos.endpoint];
  await Bun.sleep(1000);
  const rssIdle = rssKb(gwPid);
  // A gateway that refuses the probe (a masking bug, a policy denial) is reported, not fatal: the other
  // scenarios still say something.
  const masked = await maskingActive(tools.psql, endpoints[0]!, custos.endpoint).catch(
    (e: Error) => e.message,
  );
  log(`masking through Custos for the agent: ${maskingNote(masked)}`);

  log(`memory: opening ${sessions} idle sessions through Custos`);
  const before = rssKb(gwPid);
  const open = await openIdleSessions(custos.endpoint, sessions);
  await Bun.sleep(2000);
  const withSessions = rssKb(gwPid);
  for (const s of open) s.close();
  const perSessionKb = (withSessions - before) / sessions;
  await Bun.sleep(1000);

  const results: ScenarioResult[] = [];
  const cpuRows: string[] = [];
  const commands: string[] = [];
  let peakUnderLoad = 0;
  const errors: string[] = [];
  const only = opt.only?.split(",");
  for (const sc of scenarios(quick, { wide: wideScript, ...insertScripts }).filter((s) =>
    only ? only.includes(s.id) : !(quick && s.notQuick),
  )) {
    const result: ScenarioResult = { scenario: sc, targets: {} };
    const cpu = new Map<string, CpuTally>();
    let scenarioPeak = 0;
    const spec = { ...sc.spec, seconds };
    commands.push(`${sc.label}: ${showCommand(pgbenchCommand(tools.pgbench, endpoints[0]!, spec, "x"))}`);
    for (let r = 0; r < rounds; r++) {
      for (const ep of order(targetsFor(sc, endpoints, quick), r)) {
        const gone = ep.name === "custos" ? custos.exited?.() : null;
        if (gone) {
          errors.push(`${sc.label}, custos: ${gone}`);
          continue;
        }
        const sampler = ep.name === "custos" ? sampleRss(gwPid) : null;
        const cpuBefore = ep.pid ? threadMicros(ep.pid) : null;
        const fig = await runPgbench(tools.pgbench, ep, spec, work).catch((e: Error) => e);
        const peak = sampler?.stop() ?? Number.NaN;
        if (cpuBefore && ep.pid && !(fig instanceof Error)) {
          const tally = cpu.get(ep.name) ?? { micros: new Map(), transactions: 0 };
          cpu.set(ep.name, tally);
          addCpu(tally, threadDelta(cpuBefore, threadMicros(ep.pid)), fig.transactions);
        }
        if (Number.isFinite(peak)) peakUnderLoad = Math.max(peakUnderLoad, peak);
        if (Number.isFinite(peak)) scenarioPeak = Math.max(scenarioPeak, peak);
        if (fig instanceof Error) {
          errors.push(`${sc.label}, ${ep.name}: ${fig.message.replace(/\s+/g, " ").slice(0, 300)}`);
          log(`${sc.id} round ${r + 1}/${rounds} ${ep.name}: failed`);
          continue;
        }
        const t = result.targets[ep.name] ?? { rounds: [], failed: 0, latenciesUs: [] };
        result.targets[ep.name] = t;
        t.rounds.push(fig.tps);
        t.failed += fig.failed;
        for (const v of fig.latenciesUs) t.latenciesUs.push(v);
        log(`${sc.id} round ${r + 1}/${rounds} ${ep.name}: ${fig.tps.toFixed(0)} ${sc.unit}`);
      }
    }
    result.cpu = Object.fromEntries(cpu);
    result.peakRssKb = scenarioPeak || undefined;
    results.push(result);
    const relayCpu = cpu.get("relay");
    const custosCpu = cpu.get("custos");
    if (relayCpu || custosCpu) {
      cpuRows.push(
        `| ${sc.label} | ${relayCpu ? cpuLine(relayCpu) : "–"} | ${custosCpu ? cpuLine(custosCpu) : "–"} | ${scenarioPeak ? (scenarioPeak / 1024).toFixed(0) : "–"} |`,
      );
    }
  }

  const http =
    only && !only.includes("http")
      ? "not run (--only)"
      : await runHttpScenario(tools.httpBench, seconds, rounds, log);

  const loadAfter = load1();
  const memory = [
    `- RSS idle (after start, before any session): ${(rssIdle / 1024).toFixed(1)} MB`,
    `- RSS with ${sessions} idle sessions open: ${(withSessions / 1024).toFixed(1)} MB (before opening them: ${(before / 1024).toFixed(1)} MB) → **${perSessionKb.toFixed(1)} KB per idle session** (each session holds its own upstream PostgreSQL connection; max_connections=${PG_SETTINGS.max_connections})`,
    `- RSS peak under load (sampled every 200 ms during the Custos runs): ${(peakUnderLoad / 1024).toFixed(1)} MB`,
  ].join("\n");
  const cs = checks(results, { http, soak: lastSoak(root) });
  const body = [
    `## Custos vs direct vs PgBouncer vs a bare relay (${quick ? "bench/run --quick" : "bench/run"})`,
    "",
    `${m.date} · commit ${m.commit}${m.dirty ? " (src/ had uncommitted changes)" : ""} · ${m.nproc} cores, ${m.memoryGb} GB, ${m.cpuModel} · Linux ${m.kernel} · Bun ${m.bun} · load average (1 min) ${loadBefore} before, ${loadAfter} after · ${((Date.now() - started) / 60000).toFixed(1)} min`,
    "",
    `Each cell is the mean rate over ${rounds} round${rounds > 1 ? "s" : ""} of ${seconds} s per target, targets alternating (direct, PgBouncer, relay, Custos, then reversed${quick ? "; --quick runs each scenario only against the targets its goal compares" : ""}); p50/p99 are per-transaction latencies from pgbench's -l log, pooled over rounds. The bare relay (bench/support/bare-relay.ts, its own Bun process) forwards bytes both ways and does nothing else: the floor for any relay in this runtime on this machine, so Custos / relay is the cost of Custos's own work. Custos runs as its own process (\`custos serve\`) with the shipped default policy pack, recording on (embedded SQLite store, audit.sync=${sync}: TPC-B writes are held until durable), a service token for pgbench and an agent token for the wide-row query. Masking for the agent's wide rows: ${maskingNote(masked)}.`,
    "",
    table(results),
    "",
    ...(errors.length
      ? ["Failed runs (their cells are left out):", "", ...errors.map((e) => `- ${e}`), ""]
      : []),
    "Issue 23's goals, judged on this run (HTTP on bench/http/run.ts's own alternating k6 runs below; the soak on the last `bench/run --soak`):",
    "",
    checkLines(cs),
    "",
    "CPU per transaction of the relay processes, all threads (by thread name), from /proc over each run:",
    "",
    "| scenario | bare relay | Custos | Custos RSS peak, MB |",
    "|---|---|---|---:|",
    ...cpuRows,
    "",
    "Memory (Custos process):",
    "",
    memory,
    "",
    `HTTP gateway (k6): ${http}`,
    "",
    "Set-up and commands (PGSSLMODE=disable on every target; password or token in PGPASSWORD):",
    "",
    "```",
    `PostgreSQL ${PG_SETTINGS.max_connections ? "" : ""}settings: ${Object.entries(PG_SETTINGS)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
    `${initCmd}; 1,000-row table bench_wide; query: ${WIDE_QUERY}`,
    "PgBouncer: pool_mode=session auth_type=scram-sha-256 default_pool_size=200 (server side SCRAM too)",
    `Custos: custos serve --config custos.yaml (policy: shipped default pack; audit: sqlite, sync ${sync}; upstream SCRAM, tls disable)`,
    "pgbench lines as run against direct; PgBouncer, the relay and Custos differ only in -p and -U (and the password):",
    ...commands,
    "```",
  ].join("\n");
  console.log(`\n${body}\n`);
  if (!opt["no-write"] && !quick) {
    const path = join(root, "bench/RESULTS.md");
    let doc = "";
    try {
      doc = readFileSync(path, "utf8");
    } catch {}
    writeFileSync(path, replaceSection(doc, "pgbench", body));
    log("bench/RESULTS.md section rewritten");
  } else {
    log(quick ? "quick mode: bench/RESULTS.md left as it is" : "--no-write: bench/RESULTS.md left as it is");
  }
  if (profileDir) log(`CPU profile of the gateway will be in ${profileDir} (written when it exits)`);
  process.exitCode = errors.length || typeof masked === "string" ? 1 : cs.some((c) => c.ok === false) ? 3 : 0;
} finally {
  for (const stop of stops.reverse()) await stop().catch((e) => log(`cleanup: ${e}`));
  rmSync(work, { recursive: true, force: true });
}
