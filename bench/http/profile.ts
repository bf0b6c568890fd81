// CPU cost per request of the HTTP gateway, direct vs through Custos, with a bounded load from a separate
// driver process (drive.ts). Run under `bun --cpu-prof-md` to see where the gateway's time goes.
// Usage: bun [--cpu-prof-md] bench/http/profile.ts [seconds] [concurrency] [only-custos]
import { join } from "node:path";
import { cpuMicros, startBench, threadMicros } from "./setup.ts";

const seconds = Number(process.argv[2] ?? 8);
const conc = Number(process.argv[3] ?? 8);
const onlyCustos = process.argv[4] === "only-custos";
const b = await startBench();
// The floor: a bare Bun.serve → fetch relay in this process, doing nothing else.
const upstreamBase = new URL(b.direct).origin;
const bare = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (req) => fetch(upstreamBase + new URL(req.url).pathname),
});

async function drive(url: string, token?: string) {
  const before = {
    up: cpuMicros(b.upstreamPid),
    gw: cpuMicros(b.gatewayPid),
    threads: threadMicros(b.gatewayPid),
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
  const gw = cpuMicros(b.gatewayPid) - before.gw;
  const threads = [...threadMicros(b.gatewayPid)]
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
  const r = await drive(`http://127.0.0.1:${bare.port}/v1/invoices/42`);
  console.log(
    `bare    ${r.rps.toFixed(0)} rps  errors ${r.errors}  upstream ${r.upUs.toFixed(1)} µs/req  relay ${r.gwUs.toFixed(1)} µs/req (all threads: ${r.threads})`,
  );
}
const c = await drive(b.custos, b.token);
console.log(
  `custos  ${c.rps.toFixed(0)} rps  errors ${c.errors}  upstream ${c.upUs.toFixed(1)} µs/req  gateway ${c.gwUs.toFixed(1)} µs/req (all threads: ${c.threads})`,
);
bare.stop(true);
await b.stop();
