// The conformance suite against a real PostgreSQL server; an outage is the server stopped and restarted.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { Recorder } from "../../src/audit/recorder.ts";
import { type AuditStore, openStore } from "../../src/audit/store.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import { CustosError } from "../../src/core/errors.ts";
import { freePort } from "../support/free-port.ts";
import { type PgServer, pgBin, startPostgres } from "../support/postgres.ts";
import { evidenceConformance } from "./evidence-conformance.ts";
import { ev, frame, newLogId, testKeys } from "./fixtures.ts";
import { storeConformance } from "./store-conformance.ts";

let pg: PgServer;

function pgCtl(action: "stop" | "start"): void {
  const asUser = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  const args =
    action === "stop"
      ? ["-m", "immediate", "-w", "stop"]
      : ["-l", join(pg.dataDir, "log"), "-w", "-t", "30", "start"];
  const p = Bun.spawnSync([...asUser, pgBin("pg_ctl"), "-D", join(pg.dataDir, "db"), ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (p.exitCode !== 0) throw new Error(`pg_ctl ${action}: ${p.stderr.toString()}`);
}

storeConformance("postgres", async () => {
  pg = await startPostgres();
  const raw = postgres(pg.url(pg.roles.scram), { max: 1, onnotice: () => {} });
  return {
    url: pg.url(pg.roles.scram),
    async exec(sql, params = []) {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      const values = params.map((v) => (v instanceof Uint8Array ? Buffer.from(v) : v));
      await raw.unsafe(text, values as never[]);
    },
    async outage() {
      pgCtl("stop");
      return async () => pgCtl("start");
    },
    async close() {
      await raw.end({ timeout: 1 });
      await pg.stop();
    },
  };
});

let evidencePg: PgServer;
evidenceConformance("postgres", async () => {
  evidencePg = await startPostgres();
  const raw = postgres(evidencePg.url(evidencePg.roles.scram), { max: 1, onnotice: () => {} });
  return {
    url: evidencePg.url(evidencePg.roles.scram),
    async exec(sql, params = []) {
      let n = 0;
      const text = sql.replace(/\?/g, () => `$${++n}`);
      const values = params.map((v) => (v instanceof Uint8Array ? Buffer.from(v) : v));
      await raw.unsafe(text, values as never[]);
    },
    async outage() {
      throw new Error("not used");
    },
    async close() {
      await raw.end({ timeout: 1 });
      await evidencePg.stop();
    },
  };
});

describe("postgres store specifics", () => {
  let shared: PgServer;
  let store: AuditStore;
  beforeAll(async () => {
    shared = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await shared?.stop();
  }, 30_000);

  test("gateways opening one store at once migrate it once, then write their own logs side by side", async () => {
    const url = shared.url(shared.roles.scram);
    const [a, b] = await Promise.all([
      Recorder.start({ storeUrl: url, logId: "gw-a", signer: await testKeys, checkpointIntervalMs: 50 }),
      Recorder.start({ storeUrl: url, logId: "gw-b", signer: await testKeys, checkpointIntervalMs: 50 }),
    ]);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      for (const [rec, name] of [
        [a, "a"],
        [b, "b"],
      ] as const) {
        rec.event(ev("statement", `sess-${name}`, { seq: i, text: `select ${i}` }));
        rec.frame(`sess-${name}`, frame(i));
        if (i % 10 === 0) writes.push(rec.durable());
        if (i % 17 === 0) await Bun.sleep(60); // let periodic checkpoints land mid-stream
      }
    }
    await Promise.all(writes);
    await Promise.all([a.close(), b.close()]);
    store = await openStore(url);
    const report = await verifyLog(store);
    expect(report.ok).toBe(true);
    expect(report.logs.map((l) => [l.logId, l.ok, l.uncheckpointed])).toEqual([
      ["gw-a", true, 0],
      ["gw-b", true, 0],
    ]);
    expect(report.logs.every((l) => l.checkpoints >= 2 && l.events > 50)).toBe(true);

    // Tampering with one gateway's log fails that log only.
    shared.sql(
      "UPDATE audit_events SET body = body || '\\x00'::bytea WHERE log_id = 'gw-b' AND seq = 3",
      "ledger",
    );
    const after = await verifyLog(store);
    expect(after.ok).toBe(false);
    expect(after.logs.find((l) => l.logId === "gw-a")!.ok).toBe(true);
    expect(after.logs.find((l) => l.logId === "gw-b")!.firstFailure).toEqual({
      seq: 3,
      reason: "seq 3 (statement): body does not hash to the stored leaf hash",
    });
  }, 60_000);

  test("a hung commit (table locked by another session) turns the recorder unwritable until it completes", async () => {
    const url = shared.url(shared.roles.scram);
    const logId = newLogId("stall");
    const rec = await Recorder.start({ storeUrl: url, logId, signer: await testKeys, commitStallMs: 200 });
    rec.event(ev("statement", undefined, { n: 0 }));
    await rec.durable();
    const locker = postgres(url, { max: 1, onnotice: () => {} });
    const reserved = await locker.reserve();
    try {
      await reserved`begin`;
      await reserved`lock table audit_events in access exclusive mode`;
      rec.event(ev("statement", undefined, { n: 1 }));
      const err = await rec.durable().catch((e) => e);
      expect(err).toBeInstanceOf(CustosError);
      expect(err.message).toBe("audit store unavailable: audit store commit stalled for 200 ms");
      expect(rec.writable()).toBe(false);
    } finally {
      await reserved`rollback`;
      reserved.release();
      await locker.end({ timeout: 1 });
    }
    const deadline = Date.now() + 10_000;
    while (!rec.writable() && Date.now() < deadline) await Bun.sleep(10);
    expect(rec.writable()).toBe(true);
    await rec.close();
    store ??= await openStore(url);
    expect(await store.logSize(logId)).toBe(2);
  }, 30_000);

  test("an unreachable server fails start with audit.unavailable, and the password is not in the error", async () => {
    const port = await freePort();
    const err = await Recorder.start({
      storeUrl: `postgres://custos:TopSecret-pw@127.0.0.1:${port}/audit`,
      logId: newLogId("down"),
      signer: await testKeys,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(CustosError);
    expect(err.code).toBe("audit.unavailable");
    // Named, with the password redacted.
    expect(err.message).toStartWith(
      `audit store postgres://custos:***@127.0.0.1:${port}/audit cannot be opened:`,
    );
    expect(JSON.stringify({ m: err.message, d: err.detail })).not.toContain("TopSecret");
    expect(err.detail.store).toBe(`postgres://custos:***@127.0.0.1:${port}/audit`);
  }, 30_000);
});
