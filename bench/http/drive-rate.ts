// An open-model load driver (its own process): GETs `url` at a fixed `rate` for `seconds`, each request
// started at its scheduled time whatever the others are doing, and its latency counted from that time,
// so a stall is not hidden by requests that were never sent (coordinated omission). Prints JSON:
// {sent, ok, errors, late, p50, p90, p99, p999, max} (ms); `late` = requests started > 1 ms after schedule.
// Usage: bun bench/http/drive-rate.ts <url> <rate> <seconds> [token]
const [url, rateArg = "2000", secs = "5", token] = process.argv.slice(2);
if (!url) throw new Error("usage: drive-rate.ts <url> <rate> <seconds> [token]");
const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
const init = { headers };
const rate = Number(rateArg);
const total = Math.round(rate * Number(secs));
const lat = new Float64Array(total);
let ok = 0;
let errors = 0;
let late = 0;
let done = 0;
const t0 = performance.now() + 50;
const one = async (i: number, scheduled: number) => {
  try {
    const r = await fetch(url, init);
    await r.arrayBuffer();
    if (r.status === 200) ok++;
    else errors++;
  } catch {
    errors++;
  }
  lat[i] = performance.now() - scheduled;
  done++;
};
const pending: Promise<void>[] = [];
let next = 0;
await new Promise<void>((resolve) => {
  const tick = () => {
    const now = performance.now();
    while (next < total && t0 + (next * 1000) / rate <= now) {
      const scheduled = t0 + (next * 1000) / rate;
      if (now - scheduled > 1) late++;
      pending.push(one(next, scheduled));
      next++;
    }
    if (next < total) setTimeout(tick, 0);
    else resolve();
  };
  tick();
});
await Promise.all(pending);
const sorted = Array.from(lat.subarray(0, done)).sort((a, b) => a - b);
const q = (p: number) =>
  Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(2));
console.log(
  JSON.stringify({
    sent: total,
    ok,
    errors,
    late,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    p999: q(0.999),
    max: q(1),
  }),
);

export {};
