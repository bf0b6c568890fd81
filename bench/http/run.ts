// HTTP gateway benchmark: k6 against a local upstream directly and through Custos (recording on, default
// policy pack, a human identity so the relay path is measured without masking), alternating, bounded in
// time. Prints RPS, p50/p95/p99 and the ratio. Usage: bun bench/http/run.ts [seconds] [rounds] [max|fixed]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startBench } from "./setup.ts";

const seconds = Number(process.argv[2] ?? 10);
const rounds = Number(process.argv[3] ?? 2);
/** `max`, `fixed` or both (default). */
const only = process.argv[4];
const root = join(import.meta.dir, "../..");
const k6 = (await Bun.$`${join(root, "scripts/ensure-k6")}`.text()).trim();
const bench = await startBench();
const { token, dataDir } = bench;
const load = async () => (await Bun.$`uptime`.text()).trim().replace(/^.*load average/, "load average");

interface Run {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  failed: number;
}

async function k6run(url: string, env: Record<string, string>): Promise<Run> {
  const out = join(dataDir, `k6-${Date.now()}.json`);
  const p = Bun.spawn(
    [
      k6,
      "run",
      "--quiet",
      "--no-color",
      "--summary-trend-stats",
      "avg,p(50),p(95),p(99)",
      "--summary-export",
      out,
      join(import.meta.dir, "scenario.js"),
    ],
    {
      env: { ...process.env, URL: url, DURATION: `${seconds}s`, ...env },
      stdout: "ignore",
      stderr: "inherit",
    },
  );
  await p.exited;
  const m = JSON.parse(readFileSync(out, "utf8")).metrics;
  const d = m.http_req_duration;
  return {
    rps: m.http_reqs.rate,
    p50: d["p(50)"],
    p95: d["p(95)"],
    p99: d["p(99)"],
    failed: m.http_req_failed?.value ?? 0,
  };
}

const { direct, custos } = bench;
const fmt = (r: Run) =>
  `${r.rps.toFixed(0).padStart(7)} rps  p50 ${r.p50.toFixed(2)} ms  p95 ${r.p95.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  failed ${(r.failed * 100).toFixed(2)}%`;

// Warm-up, not measured: the gateway's first seconds are spent compiling its hot path (JIT), which a
// long-running gateway has behind it.
await k6run(custos, { VUS: "8", TOKEN: token, DURATION: "3s" });
await k6run(direct, { VUS: "8", DURATION: "3s" });

const results: { mode: string; direct: Run[]; custos: Run[] }[] = [];
const modes = [
  ["max throughput, 16 VUs", { VUS: "16" }],
  ["fixed 2000 rps", { RATE: "2000" }],
] as const;
console.log(`before: ${await load()}`);
for (const [mode, env] of modes.filter(([m]) => !only || m.startsWith(only))) {
  const row = { mode, direct: [] as Run[], custos: [] as Run[] };
  for (let i = 0; i < rounds; i++) {
    row.direct.push(await k6run(direct, env));
    console.log(`${mode} direct  ${fmt(row.direct.at(-1)!)}`);
    row.custos.push(await k6run(custos, { ...env, TOKEN: token }));
    console.log(`${mode} custos  ${fmt(row.custos.at(-1)!)}`);
  }
  results.push(row);
}

const mean = (runs: Run[], k: keyof Run) => runs.reduce((s, r) => s + r[k], 0) / runs.length;
console.log("\n| load | path | RPS | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|");
for (const r of results) {
  for (const [name, runs] of [
    ["direct", r.direct],
    ["custos", r.custos],
  ] as const) {
    console.log(
      `| ${r.mode} | ${name} | ${mean(runs, "rps").toFixed(0)} | ${mean(runs, "p50").toFixed(2)} | ${mean(runs, "p95").toFixed(2)} | ${mean(runs, "p99").toFixed(2)} |`,
    );
  }
  console.log(
    `| ${r.mode} | ratio / added | ${(mean(r.custos, "rps") / mean(r.direct, "rps")).toFixed(2)} | +${(mean(r.custos, "p50") - mean(r.direct, "p50")).toFixed(2)} | +${(mean(r.custos, "p95") - mean(r.direct, "p95")).toFixed(2)} | +${(mean(r.custos, "p99") - mean(r.direct, "p99")).toFixed(2)} |`,
  );
}

console.log(`after: ${await load()}`);
await bench.stop();
