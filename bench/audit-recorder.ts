// Recorder throughput and latency, into SQLite and PostgreSQL: `bun bench/audit-recorder.ts [sqlite|postgres]`.
// Prints sustained events/s, durable() latency under concurrency, and the main thread's cost per event().

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode } from "@msgpack/msgpack";
import { generateSignerKeys } from "../src/audit/checkpoint.ts";
import { Recorder } from "../src/audit/recorder.ts";
import { openStore } from "../src/audit/store.ts";
import { verifyLog } from "../src/audit/verify.ts";
import type { AuditEvent } from "../src/core/audit-event.ts";
import { startPostgres } from "../test/support/postgres.ts";

const keys = await generateSignerKeys();
const statement = (i: number, sessionId: string): AuditEvent => ({
  type: "statement",
  time: Date.now(),
  sessionId,
  data: {
    seq: i,
    text: "SELECT id, name, balance FROM accounts WHERE owner = $1 ORDER BY id LIMIT 50",
    keyword: "select",
    action: "allow",
    rule: "agents.read_only",
    reason: "read-only statement",
    tag: "SELECT 50",
    rows: 50,
    duration_us: 812,
  },
});
const tick = () => new Promise((r) => setImmediate(r));
const pct = (xs: number[], q: number) => xs.slice().sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;

async function sustained(url: string, total: number, perTick: number) {
  const rec = await Recorder.start({ storeUrl: url, logId: `bench-sustained-${Date.now()}`, signer: keys });
  const t0 = performance.now();
  let mainMs = 0;
  for (let i = 0; i < total; ) {
    while (!rec.writable()) await Bun.sleep(1);
    const m0 = performance.now();
    for (let k = 0; k < perTick && i < total; k++, i++) {
      rec.event(statement(i, `s${i % 64}`));
      rec.frame(`s${i % 64}`, {
        t: Date.now() * 1000,
        dir: "server",
        kind: "CommandComplete",
        data: { tag: "SELECT 50" },
      });
    }
    mainMs += performance.now() - m0;
    await tick();
  }
  await rec.durable();
  const secs = (performance.now() - t0) / 1000;
  const s = rec.stats();
  await rec.close();
  return {
    events: total,
    frames: total,
    secs,
    eventsPerSec: Math.round(total / secs),
    commits: s.commits,
    p50: s.commitLatencyMs.p50,
    p99: s.commitLatencyMs.p99,
    mainUsPerEventAndFrame: (mainMs * 1000) / total,
  };
}

async function durableLatency(url: string, clients: number, ms: number) {
  const rec = await Recorder.start({ storeUrl: url, logId: `bench-durable-${Date.now()}`, signer: keys });
  const lat: number[] = [];
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; performance.now() < until; i++) {
        const t = performance.now();
        rec.event(statement(i, `c${c}`));
        await rec.durable();
        lat.push(performance.now() - t);
      }
    }),
  );
  const s = rec.stats();
  await rec.close();
  return {
    clients,
    statements: lat.length,
    commits: s.commits,
    p50: pct(lat, 0.5),
    p99: pct(lat, 0.99),
    perSec: Math.round(lat.length / (ms / 1000)),
  };
}

/** What one tick's flush costs the calling thread: structured clone vs msgpack + transfer, 100 events. */
async function postCost() {
  const w = new Worker(
    URL.createObjectURL(new Blob(["self.onmessage = () => {}"], { type: "application/javascript" })),
  );
  const events = Array.from({ length: 100 }, (_, i) => statement(i, "s"));
  const n = 2000;
  let t = performance.now();
  for (let i = 0; i < n; i++) w.postMessage({ op: "append", id: i, events, frames: [], urgent: false });
  const structured = ((performance.now() - t) * 1000) / n;
  t = performance.now();
  for (let i = 0; i < n; i++) {
    const bytes = encode(events);
    w.postMessage({ op: "append", id: i, bytes }, [bytes.buffer]);
  }
  const packed = ((performance.now() - t) * 1000) / n;
  w.terminate();
  return { per100EventsUs: { structuredClone: structured, msgpackTransfer: packed } };
}

async function eventCallCost() {
  const dir = mkdtempSync(join(tmpdir(), "custos-bench-"));
  const rec = await Recorder.start({
    storeUrl: `sqlite:${join(dir, "a.db")}`,
    logId: "cost",
    signer: keys,
    maxQueue: 10_000_000,
  });
  const e = statement(1, "s");
  const n = 200_000;
  const t = performance.now();
  for (let i = 0; i < n; i++) rec.event(e);
  const ns = ((performance.now() - t) * 1e6) / n;
  await rec.close();
  rmSync(dir, { recursive: true, force: true });
  return { eventCallNs: Math.round(ns) };
}

async function verifySpeed(url: string) {
  const store = await openStore(url);
  const t = performance.now();
  const r = await verifyLog(store);
  const secs = (performance.now() - t) / 1000;
  await store.close();
  return {
    events: r.logs.reduce((a, l) => a + l.events, 0),
    ok: r.ok,
    secs,
    eventsPerSec: Math.round(r.logs.reduce((a, l) => a + l.events, 0) / secs),
  };
}

const which = process.argv[2] ?? "all";
console.log("main thread", await eventCallCost(), await postCost());
if (which === "all" || which === "sqlite") {
  const dir = mkdtempSync(join(tmpdir(), "custos-bench-"));
  const url = `sqlite:${join(dir, "audit.db")}`;
  console.log("sqlite sustained", await sustained(url, 100_000, 500));
  for (const c of [1, 16, 64]) console.log("sqlite durable", await durableLatency(url, c, 2000));
  console.log("sqlite verify", await verifySpeed(url));
  rmSync(dir, { recursive: true, force: true });
}
if (which === "all" || which === "postgres") {
  const pg = await startPostgres({ settings: { fsync: "on" } });
  try {
    const url = pg.url(pg.roles.scram);
    console.log("postgres sustained", await sustained(url, 100_000, 500));
    for (const c of [1, 16, 64]) console.log("postgres durable", await durableLatency(url, c, 2000));
    console.log("postgres verify", await verifySpeed(url));
  } finally {
    await pg.stop();
  }
}
