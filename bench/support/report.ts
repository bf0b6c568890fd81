// Turns measured figures into the one table bench/run prints and the judgement of issue 23's goals, each a
// row "met / **missed**: goal — value" computed from the same run. Pure: figures in, markdown out.
import { type CpuTally, cpuLine, cpuPerTransaction } from "./cpu.ts";
import { quantile } from "./pgbench.ts";
import type { Scenario } from "./scenarios.ts";
import type { TargetName } from "./targets.ts";

export interface TargetFigures {
  /** Rate of each round, in the scenario's unit. */
  rounds: number[];
  failed: number;
  latenciesUs: number[];
}

export interface ScenarioResult {
  scenario: Scenario;
  targets: Partial<Record<TargetName, TargetFigures>>;
  /** CPU of the relay processes (all threads, from /proc) over the scenario's runs. */
  cpu?: Partial<Record<TargetName, CpuTally>>;
  /** Custos's RSS peak during the scenario, KiB. */
  peakRssKb?: number;
}

export interface Cell {
  rate: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
}

export function cell(f: TargetFigures | undefined): Cell | undefined {
  if (!f || f.rounds.length === 0) return undefined;
  return {
    rate: f.rounds.reduce((a, b) => a + b, 0) / f.rounds.length,
    p50Ms: quantile(f.latenciesUs, 0.5) / 1000,
    p99Ms: quantile(f.latenciesUs, 0.99) / 1000,
    failed: f.failed,
  };
}

const num = (v: number, digits = 0) =>
  Number.isFinite(v)
    ? v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "–";
const ms = (v: number) =>
  Number.isFinite(v) ? (v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1)) : "–";
const fmt = (c: Cell | undefined) =>
  c ? `${num(c.rate)} (${ms(c.p50Ms)} / ${ms(c.p99Ms)})${c.failed ? ` ⚠ ${c.failed} failed` : ""}` : "–";
export const ratio = (a: Cell | undefined, b: Cell | undefined) =>
  a && b && b.rate > 0 ? a.rate / b.rate : Number.NaN;

export function table(results: ScenarioResult[]): string {
  const lines = [
    "| scenario | unit | direct rate (p50 / p99 ms) | PgBouncer rate (p50 / p99 ms) | bare relay rate (p50 / p99 ms) | Custos rate (p50 / p99 ms) | Custos / direct | Custos / PgBouncer | relay / direct | Custos / relay |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    const d = cell(r.targets.direct);
    const b = cell(r.targets.pgbouncer);
    const x = cell(r.targets.relay);
    const c = cell(r.targets.custos);
    lines.push(
      `| ${r.scenario.label} | ${r.scenario.unit} | ${fmt(d)} | ${fmt(b)} | ${fmt(x)} | ${fmt(c)} | ${num(ratio(c, d), 2)} | ${num(ratio(c, b), 2)} | ${num(ratio(x, d), 2)} | ${num(ratio(c, x), 2)} |`,
    );
  }
  return lines.join("\n");
}

export interface Check {
  what: string;
  value: string;
  /** true met, false missed, null not measured (or not judged: `value` says why). */
  ok: boolean | null;
  /** For a missed goal: where this run's time went (latency and CPU per transaction by thread). */
  residual?: string;
}

/** What the HTTP k6 runner (bench/http/run.ts) and the last soak said; null when they did not run. */
export interface OtherResults {
  /** bench/http/run.ts's stdout, verbatim. */
  http: string | null;
  soak: { ok: boolean; date: string; commit: string; summary: string } | null;
}

const find = (results: ScenarioResult[], id: string) => results.find((r) => r.scenario.id === id);

function judge(v: number, pass: (v: number) => boolean): boolean | null {
  return Number.isFinite(v) ? pass(v) : null;
}

function rateGoal(
  results: ScenarioResult[],
  id: string,
  over: TargetName,
  min: number,
  what: string,
  under: TargetName = "custos",
  underId = id,
): Check {
  const v = ratio(cell(find(results, underId)?.targets[under]), cell(find(results, id)?.targets[over]));
  const ok = judge(v, (x) => x >= min);
  const check: Check = { what: `${what} ≥ ${min.toFixed(1)}`, value: num(v, 2), ok };
  if (ok === false) check.residual = residual(results, underId, id, under, over);
  return check;
}

/**
 * A missed rate goal's residual, from the same run: p50 of each side, and CPU per transaction by thread of
 * each relay process measured (direct PostgreSQL's own CPU is not). The hand-written reading in RESULTS.md
 * says what the threads spent it on (profiles).
 */
function residual(
  results: ScenarioResult[],
  underId: string,
  overId: string,
  under: TargetName,
  over: TargetName,
): string {
  const u = find(results, underId);
  const o = find(results, overId);
  const name = (t: TargetName, id: string) => (t === "custos" && under === over ? `Custos (${id})` : t);
  const side = (t: TargetName, r: ScenarioResult | undefined, id: string) => {
    const c = cell(r?.targets[t]);
    const cpu = r?.cpu?.[t];
    return `${name(t, id)} p50 ${c ? ms(c.p50Ms) : "–"} ms${cpu ? `, CPU ${cpuLine(cpu)}` : ""}`;
  };
  return `${side(under, u, underId)}; ${side(over, o, overId)}`;
}

const us = (ms: number) => (Number.isFinite(ms) ? `${Math.round(ms * 1000)} µs` : "–");

/** Issue 23's goals, each judged on this run's figures (and on the HTTP runner's and the last soak's). */
export function checks(results: ScenarioResult[], other: OtherResults = { http: null, soak: null }): Check[] {
  const out: Check[] = [];
  for (const mode of ["simple", "extended", "prepared"]) {
    const id = `select-${mode}-8`;
    const at = `select-only ${mode}, 8 clients`;
    out.push(rateGoal(results, id, "relay", 0.9, `${at}: Custos / bare relay`));
    out.push(rateGoal(results, id, "pgbouncer", 1.0, `${at}: Custos / PgBouncer`));
    const cpu = find(results, id)?.cpu;
    const c = cpu?.custos ? cpuPerTransaction(cpu.custos) : Number.NaN;
    const x = cpu?.relay ? cpuPerTransaction(cpu.relay) : Number.NaN;
    out.push({
      what: `${at}: gateway CPU per statement (all threads) ≤ 2× the bare relay's`,
      value: Number.isFinite(c / x)
        ? `${c.toFixed(0)} µs vs ${x.toFixed(0)} µs (${(c / x).toFixed(1)}×)`
        : "–",
      ok: judge(c / x, (v) => v <= 2),
      ...(c / x > 2 && cpu?.custos && cpu.relay
        ? { residual: `Custos ${cpuLine(cpu.custos)}; relay ${cpuLine(cpu.relay)}` }
        : {}),
    });
  }
  const one = find(results, "select-simple-1");
  const p50 = (t: TargetName) => cell(one?.targets[t])?.p50Ms ?? Number.NaN;
  const added = p50("custos") - p50("direct");
  const relayAdded = p50("relay") - p50("direct");
  // A relay that adds nothing measurable (or less than nothing, within noise) leaves no room: the limit is
  // then taken as zero, which only an equally free Custos meets.
  const limit = 1.5 * Math.max(0, relayAdded);
  out.push({
    what: "select-only simple, 1 client: added p50 ≤ 1.5× the bare relay's added p50",
    value: Number.isFinite(added + relayAdded)
      ? `Custos +${us(added)}, relay +${us(relayAdded)} (limit ${us(limit)})`
      : "–",
    ok: judge(added + relayAdded, () => added <= limit),
  });
  out.push(
    rateGoal(
      results,
      "insert-simple-1",
      "direct",
      0.8,
      "autocommit INSERT simple, 1 session: Custos / direct",
    ),
  );
  out.push(
    rateGoal(
      results,
      "insert-extended-1",
      "direct",
      0.8,
      "autocommit INSERT extended, 1 session: Custos / direct",
    ),
  );
  out.push(rateGoal(results, "tpcb-8", "direct", 0.7, "TPC-B-like, 8 clients: Custos / direct"));
  out.push(
    rateGoal(results, "pipeline-50-1", "direct", 0.5, "pipeline of 50 INSERTs + 1 Sync: Custos / direct"),
  );
  out.push(
    rateGoal(
      results,
      "wide-unmasked-8",
      "custos",
      0.8,
      "1,000 wide rows, 8 clients: masked (agent) / unmasked (service), both through Custos",
      "custos",
      "wide-8",
    ),
  );
  const peak = find(results, "wide-8")?.peakRssKb ?? Number.NaN;
  out.push({
    what: "1,000 masked wide rows, 8 clients: Custos RSS peak ≤ 150 MB",
    value: Number.isFinite(peak) ? `${(peak / 1024).toFixed(0)} MB` : "–",
    ok: judge(peak, (v) => v <= 150 * 1024),
  });
  out.push(...httpChecks(other.http));
  const soak = other.soak;
  out.push({
    what: "soak: 1,000 sessions, 10 min, RSS flat within 10%, no errors, recorder queue level (bench/run --soak)",
    value: soak
      ? `${soak.ok ? "pass" : "FAIL"} (${soak.date}, commit ${soak.commit}: ${soak.summary})`
      : "no soak run found",
    ok: soak ? soak.ok : null,
  });
  return out;
}

const HTTP_WHO = ["custos (human)", "custos (agent, masked)"] as const;

/**
 * The HTTP goals from bench/http/run.ts's goal lines (its own judgement, on its own alternating runs):
 * `- custos (human), max throughput: **0.55 of the bare relay** (goal ≥ 0.8: missed); …` and
 * `- custos (human), fixed 2000 rps: added over direct p50 **+0.48 ms**, p99 **+6.46 ms** (goal ≤ 2 ms: …)`.
 * A line that is absent (the mode was not run, the runner failed) is "not measured", never a pass.
 */
export function httpChecks(output: string | null): Check[] {
  const lines = (output ?? "").split("\n").filter((l) => l.startsWith("- custos ("));
  const out: Check[] = [];
  for (const who of HTTP_WHO) {
    const max = lines.find((l) => l.startsWith(`- ${who}, max throughput:`));
    const r = max ? /\*\*([0-9.]+) of the bare relay\*\*/.exec(max) : null;
    const v = r ? Number(r[1]) : Number.NaN;
    out.push({
      what: `HTTP (k6), ${who}, maximum throughput: Custos / bare relay ≥ 0.8`,
      value: num(v, 2),
      ok: judge(v, (x) => x >= 0.8),
    });
    const fixed = lines.find((l) => l.startsWith(`- ${who}, fixed `));
    const p = fixed ? /p99 \*\*([+−-])([0-9.]+) ms\*\*/.exec(fixed) : null;
    const p99 = p ? (p[1] === "+" ? 1 : -1) * Number(p[2]) : Number.NaN;
    const sustained = fixed ? !fixed.includes("not sustained") : false;
    const directFell = fixed?.includes("direct too") ?? false;
    out.push({
      what: `HTTP (k6), ${who}, fixed 2,000 rps: p99 added over direct ≤ 2 ms`,
      value: !fixed
        ? "–"
        : sustained
          ? `${p99 >= 0 ? "+" : "−"}${Math.abs(p99).toFixed(2)} ms`
          : directFell
            ? "not judged: k6 did not sustain the rate against direct"
            : `not judged: a relay did not sustain the rate (p99 ${p99 >= 0 ? "+" : "−"}${Math.abs(p99).toFixed(2)} ms)`,
      ok: fixed && sustained ? judge(p99, (x) => x <= 2) : null,
    });
  }
  return out;
}

export function checkLines(cs: Check[]): string {
  return cs
    .map((c) => {
      const status =
        c.ok === null
          ? c.value.startsWith("not judged")
            ? "not judged"
            : "not measured"
          : c.ok
            ? "met"
            : "**missed**";
      return `- ${status}: ${c.what} — ${c.value}${c.residual ? ` (residual: ${c.residual})` : ""}`;
    })
    .join("\n");
}
