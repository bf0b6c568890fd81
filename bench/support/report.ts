// Turns measured figures into the one table bench/run prints and the target checks from issues 2 and 8.
// Pure: figures in, markdown out.
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
  ok: boolean | null;
}

const find = (results: ScenarioResult[], id: string) => results.find((r) => r.scenario.id === id);

/** The targets of issue 8 (and issue 2's recording target), each with its measured value. */
export function checks(results: ScenarioResult[], idleSessionKb: number | null): Check[] {
  const out: Check[] = [];
  for (const mode of ["simple", "extended"]) {
    const r = find(results, `select-${mode}-8`);
    const c = cell(r?.targets.custos);
    const vd = ratio(c, cell(r?.targets.direct));
    const vb = ratio(c, cell(r?.targets.pgbouncer));
    out.push({
      what: `select-only ${mode}, 8 clients: Custos/direct ≥ 0.80`,
      value: num(vd, 2),
      ok: judge(vd, (v) => v >= 0.8),
    });
    out.push({
      what: `select-only ${mode}, 8 clients: Custos/PgBouncer ≥ 1.30`,
      value: num(vb, 2),
      ok: judge(vb, (v) => v >= 1.3),
    });
  }
  const one = find(results, "select-simple-1");
  const added =
    (cell(one?.targets.custos)?.p50Ms ?? Number.NaN) - (cell(one?.targets.direct)?.p50Ms ?? Number.NaN);
  out.push({
    what: "select-only simple, 1 client: added p50 latency ≤ 100 µs",
    value: Number.isFinite(added) ? `${Math.round(added * 1000)} µs` : "–",
    ok: judge(added, (v) => v <= 0.1),
  });
  const t = find(results, "tpcb-8");
  const tr = ratio(cell(t?.targets.custos), cell(t?.targets.direct));
  out.push({
    what: "TPC-B-like, 8 clients, recording on (writes durable): Custos/direct ≥ 0.70 (issue 2)",
    value: num(tr, 2),
    ok: judge(tr, (v) => v >= 0.7),
  });
  for (const mode of ["simple", "extended"]) {
    const r = find(results, `select-${mode}-8`);
    const v = ratio(cell(r?.targets.custos), cell(r?.targets.direct));
    out.push({
      what: `select-only ${mode}, 8 clients, recording on: Custos/direct ≥ 0.70 (issue 2)`,
      value: num(v, 2),
      ok: judge(v, (x) => x >= 0.7),
    });
  }
  out.push({
    what: "idle session ≤ 200 KB",
    value: idleSessionKb === null ? "–" : `${num(idleSessionKb, 1)} KB`,
    ok: idleSessionKb === null ? null : idleSessionKb <= 200,
  });
  return out;
}

function judge(v: number, pass: (v: number) => boolean): boolean | null {
  return Number.isFinite(v) ? pass(v) : null;
}

export function checkLines(cs: Check[]): string {
  return cs
    .map((c) => `- ${c.ok === null ? "not measured" : c.ok ? "met" : "**missed**"}: ${c.what} — ${c.value}`)
    .join("\n");
}
