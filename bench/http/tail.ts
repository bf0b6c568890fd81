// What the tail is at a fixed rate: latency quantiles of direct, the bare relay and Custos from an open-model
// driver (drive-rate.ts), and, while Custos is driven, how late the gateway's own event loop runs (a 1 ms
// interval's lateness: a long task — GC, a hand-over, a sweep — shows as a late tick) and how many ticks
// of Custos's work overlapped a pause. Usage: bun bench/http/tail.ts [rate] [seconds] [rounds]
import { join } from "node:path";
import { startBench } from "./setup.ts";

const rate = Number(process.argv[2] ?? 2000);
const seconds = Number(process.argv[3] ?? 5);
const rounds = Number(process.argv[4] ?? 2);
const b = await startBench();

async function drive(url: string, token?: string) {
  const p = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "drive-rate.ts"),
      url,
      String(rate),
      String(seconds),
      ...(token ? [token] : []),
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  return JSON.parse(await new Response(p.stdout).text()) as Record<string, number>;
}

/** Lateness of a 1 ms interval on this (the gateway's) thread, as counts per bucket. */
function loopLag() {
  const buckets = [1, 2, 5, 10, 20, 50, Number.POSITIVE_INFINITY];
  const counts = buckets.map(() => 0);
  let last = performance.now();
  let max = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const lag = now - last - 1;
    last = now;
    max = Math.max(max, lag);
    counts[buckets.findIndex((b) => lag < b)]!++;
  }, 1);
  return () => {
    clearInterval(timer);
    return `loop lag ms <1: ${counts[0]}, 1-2: ${counts[1]}, 2-5: ${counts[2]}, 5-10: ${counts[3]}, 10-20: ${counts[4]}, 20-50: ${counts[5]}, ≥50: ${counts[6]}; max ${max.toFixed(1)}`;
  };
}

const fmt = (r: Record<string, number>) =>
  `ok ${r.ok}/${r.sent} late-start ${r.late}  p50 ${r.p50}  p90 ${r.p90}  p99 ${r.p99}  p99.9 ${r.p999}  max ${r.max} ms`;
console.log(`load: ${(await Bun.$`uptime`.text()).trim()}  rate ${rate}/s, ${seconds} s × ${rounds}`);
for (let round = 0; round < rounds; round++) {
  console.log(`direct  ${fmt(await drive(b.direct))}`);
  console.log(`bare    ${fmt(await drive(b.bare))}`);
  const stop = loopLag();
  const c = await drive(b.custos, b.token);
  console.log(`custos  ${fmt(c)}\n        ${stop()}`);
}
await b.stop();
