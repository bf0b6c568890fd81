// Shared by the microbenchmarks: one mitata measurement per case, reported as a markdown row.
import { measure } from "mitata";

export interface MicroRow {
  bench: string;
  case: string;
  avgNs: number;
  p50Ns: number;
  p99Ns: number;
  /** What one iteration processes, for a per-unit figure (e.g. 1,000 rows). */
  per?: { count: number; unit: string };
}

export async function micro(
  bench: string,
  name: string,
  fn: () => unknown,
  per?: MicroRow["per"],
): Promise<MicroRow> {
  const s = await measure(fn);
  return { bench, case: name, avgNs: s.avg, p50Ns: s.p50, p99Ns: s.p99, per };
}

const t = (ns: number) =>
  ns >= 1e6
    ? `${(ns / 1e6).toFixed(2)} ms`
    : ns >= 1e3
      ? `${(ns / 1e3).toFixed(2)} µs`
      : `${ns.toFixed(0)} ns`;

export function microTable(rows: MicroRow[]): string {
  const lines = ["| benchmark | case | avg | p50 | p99 | p50 per unit |", "|---|---|---:|---:|---:|---:|"];
  for (const r of rows) {
    const per = r.per ? `${t(r.p50Ns / r.per.count)} / ${r.per.unit}` : "";
    lines.push(`| ${r.bench} | ${r.case} | ${t(r.avgNs)} | ${t(r.p50Ns)} | ${t(r.p99Ns)} | ${per} |`);
  }
  return lines.join("\n");
}
