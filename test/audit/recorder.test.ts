// Recorder behaviour that does not depend on the store dialect, against a real SQLite file.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Recorder } from "../../src/audit/recorder.ts";
import { openStore } from "../../src/audit/store.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import { CustosError } from "../../src/core/errors.ts";
import { ev, newLogId, testKeys } from "./fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "custos-recorder-"));
const url = `sqlite:${join(dir, "audit.db")}`;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a value msgpack cannot encode is recorded as such; the rest of the batch is kept", async () => {
  const logId = newLogId("clone");
  const rec = await Recorder.start({ storeUrl: url, logId, signer: await testKeys });
  rec.event(ev("statement", "s", { n: 1 }));
  rec.event(ev("statement", "s", { n: 2, callback: () => 1 }));
  rec.frame("s", { t: 1, dir: "client", kind: "Query", data: { f: Symbol("x") } });
  rec.event(ev("statement", "s", { n: 3 }));
  await rec.durable();
  await rec.close();
  const store = await openStore(url);
  const events = await store.sessionEvents("s");
  expect(events.map((e) => e.data)).toEqual([
    { n: 1 },
    { unencodable: expect.stringContaining("Unrecognized object") },
    { n: 3 },
    { batch: 0, frames: 1, sha256: expect.any(String) },
  ]);
  expect(await store.sessionFrames("s")).toEqual([
    {
      t: 1,
      dir: "client",
      kind: "Query",
      data: { unencodable: expect.stringContaining("Unrecognized object") },
    },
  ]);
  expect((await verifyLog(store, { logIds: [logId] })).ok).toBe(true);
  await store.close();
});

test("durable() after a checkpoint written on an idle queue resolves (it once waited forever)", async () => {
  const logId = newLogId("idle-checkpoint");
  const rec = await Recorder.start({
    storeUrl: url,
    logId,
    signer: await testKeys,
    checkpointIntervalMs: 50,
  });
  rec.event(ev("statement", "s", { n: 1 }));
  await rec.durable(); // the last message handed over is an urgent one
  const deadline = Date.now() + 5_000;
  while (rec.stats().lastCheckpointSize !== 1 && Date.now() < deadline) await Bun.sleep(10);
  expect(rec.stats().lastCheckpointSize).toBe(1); // the checkpoint-only commit happened
  const settled = await Promise.race([
    rec.durable().then(() => "resolved"),
    Bun.sleep(2_000).then(() => "hung"),
  ]);
  expect(settled).toBe("resolved");
  await rec.close();
});

test("durable() and appends after close are refused with audit.unavailable", async () => {
  const rec = await Recorder.start({ storeUrl: url, logId: newLogId("closed"), signer: await testKeys });
  await rec.close();
  const err = await rec.durable().catch((e) => e);
  expect(err).toBeInstanceOf(CustosError);
  expect(err.code).toBe("audit.unavailable");
  expect(() => rec.frame("s", { t: 1, dir: "client", kind: "Query" })).toThrow(
    "audit store unavailable: recorder closed",
  );
  expect(rec.writable()).toBe(false);
  await rec.close(); // idempotent
});

test("durable callers across many ticks each see their own appends committed, in order", async () => {
  const logId = newLogId("ticks");
  const rec = await Recorder.start({
    storeUrl: url,
    logId,
    signer: await testKeys,
    checkpointIntervalMs: 60_000,
  });
  const store = await openStore(url);
  const clients = Array.from({ length: 8 }, async (_, c) => {
    for (let i = 0; i < 10; i++) {
      rec.event(ev("statement", `c${c}`, { i }));
      await rec.durable();
      // durable before forwarded: the statement's event is readable from the store right now
      const mine = (await store.sessionEvents(`c${c}`)).map((e) => e.data.i);
      expect(mine).toEqual(Array.from({ length: i + 1 }, (_, k) => k));
    }
  });
  await Promise.all(clients);
  const s = rec.stats();
  expect(s.committedEvents).toBe(80);
  expect(s.commits).toBeLessThan(80);
  expect(s.commitLatencyHistogram.count).toBe(s.commits);
  await rec.close();
  await store.close();
});

test("long byte-stream frames handed over as parts are stored whole, in order, and the log verifies", async () => {
  const logId = newLogId("parts");
  const rec = await Recorder.start({ storeUrl: url, logId, signer: await testKeys });
  const payload = (n: number, seed: number) =>
    Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
  // A result of ~400 KB in server chunks, small client frames between, over two hand-overs.
  const sent: { dir: "client" | "server"; bytes: Uint8Array }[] = [];
  for (let i = 0; i < 12; i++) {
    const dir = i % 3 === 0 ? "client" : "server";
    const bytes = payload(dir === "client" ? 40 : 1000 + i * 30_000, i);
    sent.push({ dir, bytes });
    rec.bytesFrame("p", 1_000 + i, dir, "bytes", bytes);
    // The caller's buffer is reused at once (a socket's read buffer may be): the record keeps its own copy.
    if (i === 5) {
      const copy = bytes.slice();
      bytes.fill(0);
      sent[i] = { dir, bytes: copy };
      await rec.durable();
    }
  }
  await rec.durable();
  await rec.close();
  const store = await openStore(url);
  const frames = await store.sessionFrames("p");
  expect(frames.map((f) => f.dir)).toEqual(sent.map((s) => s.dir));
  frames.forEach((f, i) => {
    expect(Buffer.from((f.data as { bytes: Uint8Array }).bytes).equals(Buffer.from(sent[i]!.bytes))).toBe(
      true,
    );
  });
  expect((await verifyLog(store, { logIds: [logId] })).ok).toBe(true);
  await store.close();
});
