// CPU cost per request of the HTTP gateway, direct vs through Custos, with a bounded load from a separate
// driver process (drive.ts). Run under `bun --cpu-prof-md` to see where the gateway's time goes.
// Usage: bun [--cpu-prof-md] bench/http/profile.ts [seconds] [concurrency] [only-custos]
import { join } from "node:path";
import { cpuMicros, startBench, threadMicros } from "./setup.ts";

const seconds = Number(process.argv[2] ?? 8);
const conc = Number(process.argv[3] ?? 8);
const onlyCustos = process.argv[4] === "only-custos";
const b = await startBench();
// The floor: the bare Bun.serve → fetch relay (bare-relay.ts, its own process), doing nothing else.
async function drive(url: string, token?: string, relayPid = b.gatewayPid) {
  const before = {
    up: cpuMicros(b.upstreamPid),
    gw: cpuMicros(relayPid),
    threads: threadMicros(relayPid),
  };
  const p = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "drive.ts"),
      url,
      String(conc),
      String(seconds),
      ...(token ? [token] : []),
    ],
    { stdout: "pipe", stderr: "inherit" },
  );
  const out = JSON.parse(await new Response(p.stdout).text()) as {
    requests: number;
    errors: number;
    rps: number;
  };
  const up = cpuMicros(b.upstreamPid) - before.up;
  const gw = cpuMicros(relayPid) - before.gw;
  const threads = [...threadMicros(relayPid)]
    .map(([name, us]) => [name, (us - (before.threads.get(name) ?? 0)) / out.requests] as const)
    .filter(([, us]) => us >= 1)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${name} ${us.toFixed(0)}`)
    .join(", ");
  return { ...out, upUs: up / out.requests, gwUs: gw / out.requests, threads };
}

console.log(`load: ${(await Bun.$`uptime`.text()).trim()}`);
if (!onlyCustos) {
  const d = await drive(b.direct);
  console.log(`direct  ${d.rps.toFixed(0)} rps  errors ${d.errors}  upstream ${d.upUs.toFixed(1)} µs/req`);
}
if (!onlyCustos) {
  const r = await drive(b.bare, undefined, b.barePid);
  console.log(
    `bare    ${r.rps.toFixed(0)} rps  errors ${r.errors}  upstream ${r.upUs.toFixed(1)} µs/req  relay ${r.gwUs.toFixed(1)} µs/req (all threads: ${r.threads})`,
  );
}
const c = await drive(b.custos, b.token);
console.log(
  `custos  ${c.rps.toFixed(0)} rps  errors ${c.errors}  upstream ${c.upUs.toFixed(1)} µs/req  gateway ${c.gwUs.toFixed(1)} µs/req (all threads: ${c.threads})`,
);
await b.stop();
