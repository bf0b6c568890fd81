// CPU time of a process per thread, from /proc: the steadier figure on a shared machine (a relay's CPU per
// transaction moves far less with other jobs' load than its rate does).
import { readdirSync, readFileSync } from "node:fs";

/** CPU time (user + system) from a /proc stat file, in microseconds (clock ticks of 10 ms). */
function statMicros(path: string): number {
  const stat = readFileSync(path, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the ")" split.
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / 100;
}

/** CPU time per thread name (threads of the same name summed), in microseconds. */
export function threadMicros(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      out.set(name, (out.get(name) ?? 0) + statMicros(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** after − before per thread name, threads that appeared meanwhile counted from zero. */
export function threadDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, v] of after) out.set(name, v - (before.get(name) ?? 0));
  return out;
}

/** Accumulated CPU of one target in one scenario: per thread name, and the transactions it served. */
export interface CpuTally {
  micros: Map<string, number>;
  transactions: number;
}

export function addCpu(t: CpuTally, delta: Map<string, number>, transactions: number): void {
  for (const [name, v] of delta) t.micros.set(name, (t.micros.get(name) ?? 0) + v);
  t.transactions += transactions;
}

/** "total 123 µs (bun 80, Worker 30, …)" per transaction; threads under 1 µs left out. */
export function cpuLine(t: CpuTally): string {
  if (t.transactions === 0) return "–";
  const per = [...t.micros].map(([n, v]) => [n, v / t.transactions] as const).sort((a, b) => b[1] - a[1]);
  const total = per.reduce((s, [, v]) => s + v, 0);
  const parts = per.filter(([, v]) => v >= 1).map(([n, v]) => `${n} ${v.toFixed(0)}`);
  return `**${total.toFixed(0)} µs** (${parts.join(", ")})`;
}

/** CPU per transaction over all threads, µs; NaN for none. */
export function cpuPerTransaction(t: CpuTally): number {
  if (t.transactions === 0) return Number.NaN;
  let sum = 0;
  for (const v of t.micros.values()) sum += v;
  return sum / t.transactions;
}
