// One suite, every audit store: the same behaviour from SQLite and PostgreSQL, through the same interface.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateSignerKeys, importSigner, signCheckpoint } from "../../src/audit/checkpoint.ts";
import { decodeEvent, decodeFrames, encodeEvent } from "../../src/audit/codec.ts";
import { LogWriter } from "../../src/audit/log-writer.ts";
import { leafHash } from "../../src/audit/merkle.ts";
import { Recorder } from "../../src/audit/recorder.ts";
import { type AuditStore, openStore } from "../../src/audit/store.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import { CustosError } from "../../src/core/errors.ts";
import { ev, frame, newLogId, type StoreHarness, testKeys, testSigner, writeLog } from "./fixtures.ts";

export function storeConformance(name: string, setup: () => Promise<StoreHarness>): void {
  describe(`audit store conformance: ${name}`, () => {
    let h: StoreHarness;
    let store: AuditStore;
    // Generous: starting a real PostgreSQL on a loaded 2-core machine can take a while.
    beforeAll(async () => {
      h = await setup();
      store = await openStore(h.url);
    }, 60_000);
    afterAll(async () => {
      await store?.close();
      await h?.close();
    }, 30_000);

    const verifyOne = async (logId: string) => (await verifyLog(store, { logIds: [logId] })).logs[0]!;

    describe("store", () => {
      test("migrations are idempotent: a second open of the same store works", async () => {
        const again = await openStore(h.url);
        expect((await again.counts()).logs).toBeGreaterThanOrEqual(0);
        await again.close();
      });

      test("ensureLog keeps the first key registered for a log id", async () => {
        const id = newLogId("keys");
        const a = (await generateSignerKeys()).publicKeyRaw;
        const b = (await generateSignerKeys()).publicKeyRaw;
        const first = await store.ensureLog(id, a, 1);
        const second = await store.ensureLog(id, b, 2);
        expect(Buffer.from(first.publicKey).equals(Buffer.from(a))).toBe(true);
        expect(Buffer.from(second.publicKey).equals(Buffer.from(a))).toBe(true);
        expect(second.createdAt).toBe(1);
      });

      test("commit writes events, recordings, sessions and a checkpoint; reads give them back", async () => {
        const logId = newLogId("rw");
        const sid = `${logId}-sess`;
        const writer = await LogWriter.open(store, logId, await testSigner());
        const events = [
          ev(
            "session.start",
            sid,
            {
              subject: "alice@example.com",
              issuer: "https://idp.example.com",
              kind: "agent",
              connection: "ledger",
              protocol: "postgres",
              target_user: "app",
              client_addr: "127.0.0.1:5555",
              application: "psql",
            },
            1_000,
          ),
          ev("statement", sid, { seq: 1, text: "select 1", action: "allow", rows: 1 }, 1_001),
          ev("statement", sid, { seq: 2, text: "select 2", action: "deny", rows: 0 }, 1_002),
          ev("auth.success", undefined, { subject: "alice@example.com" }, 1_003),
        ];
        const frames = new Map([
          [
            sid,
            [
              frame(0),
              frame(1),
              { t: 5, dir: "server" as const, kind: "DataRow", data: { v: new Uint8Array([0, 255]) } },
            ],
          ],
        ]);
        const p = await writer.prepare(events, frames, true, 2_000);
        await store.commit(p.batch);
        writer.accept(p);
        const p2 = await writer.prepare(
          [
            ev(
              "session.end",
              sid,
              { reason: "client", bytes_from_client: 100, bytes_to_client: 2_000 },
              3_000,
            ),
          ],
          new Map([[sid, [frame(9)]]]),
          false,
        );
        await store.commit(p2.batch);
        writer.accept(p2);

        expect(await store.logSize(logId)).toBe(7);
        const rows = await store.readEvents(logId, 0, 100);
        expect(rows.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
        expect(rows.map((r) => r.type)).toEqual([
          "session.start",
          "statement",
          "statement",
          "auth.success",
          "recording.batch",
          "session.end",
          "recording.batch",
        ]);
        expect(rows[3]!.sessionId).toBeNull();
        expect(Buffer.from(rows[1]!.leafHash).equals(Buffer.from(leafHash(rows[1]!.body)))).toBe(true);
        expect((await store.readEvents(logId, 5, 1)).map((r) => r.seq)).toEqual([5]);
        const leaves = await store.readLeaves(logId, 2, 3);
        expect(leaves.map((l) => [l.seq, Buffer.from(l.leafHash).toString("hex")])).toEqual(
          rows.slice(2, 5).map((r) => [r.seq, Buffer.from(r.leafHash).toString("hex")]),
        );

        const cps = await store.checkpoints(logId);
        expect(cps.map((c) => c.size)).toEqual([5]);
        expect(cps[0]!.time).toBe(2_000);

        const session = await store.getSession(sid);
        expect(session).toMatchObject({
          id: sid,
          logId,
          subject: "alice@example.com",
          issuer: "https://idp.example.com",
          kind: "agent",
          connection: "ledger",
          protocol: "postgres",
          targetUser: "app",
          clientAddr: "127.0.0.1:5555",
          application: "psql",
          startedAt: 1_000,
          endedAt: 3_000,
          endReason: "client",
          statements: 2,
          bytesIn: 100,
          bytesOut: 2_000,
        });
        const transcript = await store.sessionEvents(sid);
        expect(transcript.filter((e) => e.type === "statement").map((e) => e.data.text)).toEqual([
          "select 1",
          "select 2",
        ]);
        const replay = await store.sessionFrames(sid);
        expect(replay.map((f) => f.t)).toEqual([
          1_700_000_000_000_000, 1_700_000_000_000_001, 5, 1_700_000_000_000_009,
        ]);
        expect(Buffer.from(replay[2]!.data!.v as Uint8Array).equals(Buffer.from([0, 255]))).toBe(true);
        const recs = await store.recordingsByEventSeq(logId, 0, 100);
        expect(recs.map((r) => [r.batch, r.eventSeq, r.frameCount])).toEqual([
          [0, 4, 3],
          [1, 6, 1],
        ]);
        expect(await store.countRecordings(logId)).toBe(2);
        expect(await store.getSession("no-such-session")).toBeUndefined();
        expect(await verifyOne(logId)).toMatchObject({
          ok: true,
          events: 7,
          uncheckpointed: 2,
          recordings: 2,
        });
      });

      test("a batch is one transaction: a conflicting batch leaves nothing behind", async () => {
        const logId = newLogId("atomic");
        await writeLog(store, logId, 1, 2);
        const before = await store.counts();
        const body = encodeEvent(ev("statement", undefined, { text: "dup" }));
        const signer = await testSigner();
        const err = await store
          .commit({
            logId,
            events: [
              { logId, seq: 2, time: 1, type: "statement", sessionId: null, body, leafHash: leafHash(body) },
              { logId, seq: 0, time: 1, type: "statement", sessionId: null, body, leafHash: leafHash(body) },
            ],
            recordings: [],
            sessions: [],
            checkpoint: await signCheckpoint(signer, logId, 3, leafHash(body), 1),
          })
          .catch((e) => e);
        expect(err).toBeInstanceOf(Error);
        expect(await store.counts()).toEqual(before);
        expect(await store.logSize(logId)).toBe(2);
      });

      test("byte columns given as views into larger buffers store exactly the viewed bytes", async () => {
        const logId = newLogId("views");
        const body = encodeEvent(ev("statement", "s-views", { text: "viewed" }));
        const leaf = leafHash(body);
        // Each view starts past a filled prefix and ends before a filled suffix of its buffer.
        const inside = (b: Uint8Array) => {
          const big = new Uint8Array(b.length + 64).fill(0xee);
          big.set(b, 32);
          return big.subarray(32, 32 + b.length);
        };
        const data = new Uint8Array([0x91, 0xc0]);
        await store.commit({
          logId,
          events: [
            {
              logId,
              seq: 0,
              time: 1,
              type: "statement",
              sessionId: "s-views",
              body: inside(body),
              leafHash: inside(leaf),
            },
          ],
          recordings: [
            {
              sessionId: "s-views",
              batch: 0,
              logId,
              eventSeq: 0,
              firstTime: 1,
              frameCount: 1,
              data: inside(data),
              sha256: inside(leaf),
            },
          ],
          sessions: [],
        });
        const [row] = await store.readEvents(logId, 0, 1);
        expect([...row!.body]).toEqual([...body]);
        expect([...row!.leafHash]).toEqual([...leaf]);
        const [rec] = await store.recordingsByEventSeq(logId, 0, 1);
        expect([...rec!.data]).toEqual([...data]);
        expect([...rec!.sha256]).toEqual([...leaf]);
      });

      test("listSessions pages newest first with an exclusive before bound", async () => {
        const logId = newLogId("list");
        const writer = await LogWriter.open(store, logId, await testSigner());
        const base = 4_000_000_000_000;
        const starts = [0, 1, 2, 3, 4].map((i) =>
          ev("session.start", `${logId}-${i}`, { subject: `u${i}` }, base + i),
        );
        const p = await writer.prepare(starts, new Map(), false);
        await store.commit(p.batch);
        const page1 = await store.listSessions({ limit: 2 });
        expect(page1.map((s) => s.subject)).toEqual(["u4", "u3"]);
        const page2 = await store.listSessions({ limit: 2, before: page1.at(-1)!.startedAt });
        expect(page2.map((s) => s.subject)).toEqual(["u2", "u1"]);
      });

      test("logs() lists every log with its key", async () => {
        const logId = newLogId("logs");
        await writeLog(store, logId, 1, 1);
        const logs = await store.logs();
        const mine = logs.find((l) => l.logId === logId);
        expect(Buffer.from(mine!.publicKey).equals(Buffer.from((await testSigner()).publicKey))).toBe(true);
      });

      test("sessionBatches pages a recording's batches in order from a batch number, bounded", async () => {
        const logId = newLogId("batches");
        const sid = `${logId}-s`;
        const other = `${logId}-other`;
        const writer = await LogWriter.open(store, logId, await testSigner());
        // Seven commits, one batch each for sid (batch b holds b + 1 frames) and one for another session.
        for (let b = 0; b < 7; b++) {
          const frames = new Map([
            [sid, Array.from({ length: b + 1 }, (_, i) => frame(b * 10 + i))],
            [other, [frame(99)]],
          ]);
          const p = await writer.prepare([], frames, false, 1_700_000_000_000 + b);
          await store.commit(p.batch);
          writer.accept(p);
        }
        const all = await store.sessionBatches(sid, 0, 1000);
        expect(all.map((r) => [r.batch, r.frameCount])).toEqual([0, 1, 2, 3, 4, 5, 6].map((b) => [b, b + 1]));
        // The rows are the stored ones: their frames are sessionFrames' frames, batch by batch.
        expect(all.flatMap((r) => decodeFrames(r.data))).toEqual(await store.sessionFrames(sid));
        expect(all.every((r) => r.sessionId === sid && r.logId === logId && r.sha256.length === 32)).toBe(
          true,
        );
        expect((await store.sessionBatches(sid, 2, 3)).map((r) => r.batch)).toEqual([2, 3, 4]);
        expect((await store.sessionBatches(sid, 5, 10)).map((r) => r.batch)).toEqual([5, 6]);
        expect(await store.sessionBatches(sid, 7, 10)).toEqual([]);
        expect(await store.sessionBatches("no-such-session", 0, 10)).toEqual([]);
        for (const [from, limit] of [
          [-1, 10],
          [0.5, 10],
          [0, 0],
          [0, 1001],
          [0, Number.NaN],
        ] as const) {
          await expect(store.sessionBatches(sid, from, limit)).rejects.toThrow("sessionBatches:");
        }
      });
    });

    describe("verify detects tampering", () => {
      // Logs from writeLog(…, 4, 4): 17 events, checkpoints at 4, 9 and 13; seq 13..16 not yet checkpointed;
      // seq 8 is the recording.batch event of the recording written in the second batch.
      test("an untouched log verifies, and reports the events not yet checkpointed", async () => {
        const logId = newLogId("clean");
        await writeLog(store, logId);
        const r = await verifyOne(logId);
        expect(r).toEqual({
          logId,
          events: 17,
          checkpoints: 3,
          recordings: 1,
          uncheckpointed: 4,
          pruned: { events: 0, recordings: 0 },
          trustedCheckpoints: 0,
          ok: true,
        });
        expect((await store.checkpoints(logId)).map((c) => c.size)).toEqual([4, 9, 13]);
      });

      test("a changed event body is named by seq", async () => {
        const logId = newLogId("changed");
        await writeLog(store, logId);
        const body = encodeEvent(
          ev("statement", `${logId}-s`, { seq: 5, text: "drop table accounts" }, 1_700_000_000_001),
        );
        await h.exec("UPDATE audit_events SET body = ? WHERE log_id = ? AND seq = 5", [body, logId]);
        expect(await verifyOne(logId)).toMatchObject({
          ok: false,
          firstFailure: { seq: 5, reason: "seq 5 (statement): body does not hash to the stored leaf hash" },
        });
      });

      test("a body with a byte appended is named by seq, not a decoder crash", async () => {
        const logId = newLogId("appended");
        await writeLog(store, logId);
        const [row] = await store.readEvents(logId, 5, 1);
        const longer = new Uint8Array([...row!.body, 0x00]);
        await h.exec("UPDATE audit_events SET body = ? WHERE log_id = ? AND seq = 5", [longer, logId]);
        expect(await verifyOne(logId)).toMatchObject({
          ok: false,
          firstFailure: { seq: 5, reason: "seq 5 (statement): body does not hash to the stored leaf hash" },
        });
      });

      test("a changed body with a recomputed leaf hash fails at the next checkpoint's root", async () => {
        const logId = newLogId("rehashed");
        await writeLog(store, logId);
        const body = encodeEvent(
          ev("statement", `${logId}-s`, { seq: 5, text: "drop table accounts" }, 1_700_000_000_001),
        );
        await h.exec("UPDATE audit_events SET body = ?, leaf_hash = ? WHERE log_id = ? AND seq = 5", [
          body,
          leafHash(body),
          logId,
        ]);
        const r = await verifyOne(logId);
        expect(r.ok).toBe(false);
        expect(r.firstFailure!.size).toBe(9);
        expect(r.firstFailure!.reason).toContain(
          "an event between seq 4 and 8 was changed, inserted, deleted or reordered",
        );
      });

      test("a deleted event is named by the missing seq", async () => {
        const logId = newLogId("deleted");
        await writeLog(store, logId);
        await h.exec("DELETE FROM audit_events WHERE log_id = ? AND seq = 6", [logId]);
        expect(await verifyOne(logId)).toMatchObject({
          ok: false,
          firstFailure: {
            seq: 6,
            reason: "seq 6 is missing (next stored is 7): an event was deleted or the log renumbered",
          },
        });
      });

      test("deleting checkpointed events from the tail is detected", async () => {
        const logId = newLogId("tail");
        await writeLog(store, logId);
        await h.exec("DELETE FROM audit_events WHERE log_id = ? AND seq >= 11", [logId]);
        expect((await verifyOne(logId)).firstFailure).toEqual({
          size: 13,
          reason: "checkpoint at size 13 but the log ends at 11: events were deleted from the tail",
        });
      });

      test("an inserted event (later ones renumbered) fails at the covering checkpoint", async () => {
        const logId = newLogId("inserted");
        await writeLog(store, logId);
        await h.exec("UPDATE audit_events SET seq = seq + 1000 WHERE log_id = ? AND seq >= 2", [logId]);
        await h.exec("UPDATE audit_events SET seq = seq - 999 WHERE log_id = ? AND seq >= 1000", [logId]);
        const body = encodeEvent(
          ev("statement", `${logId}-s`, { seq: 99, text: "select 'harmless'" }, 1_700_000_000_000),
        );
        await h.exec(
          "INSERT INTO audit_events (log_id, seq, time, type, session_id, body, leaf_hash) VALUES (?, 2, ?, 'statement', ?, ?, ?)",
          [logId, 1_700_000_000_000, `${logId}-s`, body, leafHash(body)],
        );
        const r = await verifyOne(logId);
        expect(r.ok).toBe(false);
        expect(r.firstFailure!.size).toBe(4);
        expect(r.firstFailure!.reason).toContain(
          "an event before seq 4 was changed, inserted, deleted or reordered",
        );
      });

      test("two swapped events fail at the covering checkpoint", async () => {
        const logId = newLogId("swapped");
        await writeLog(store, logId);
        await h.exec("UPDATE audit_events SET seq = -1 WHERE log_id = ? AND seq = 1", [logId]);
        await h.exec("UPDATE audit_events SET seq = 1 WHERE log_id = ? AND seq = 2", [logId]);
        await h.exec("UPDATE audit_events SET seq = 2 WHERE log_id = ? AND seq = -1", [logId]);
        const r = await verifyOne(logId);
        expect(r.ok).toBe(false);
        expect(r.firstFailure!.size).toBe(4);
      });

      test("a forged checkpoint (root replaced) fails its signature", async () => {
        const logId = newLogId("forged");
        await writeLog(store, logId);
        await h.exec("UPDATE checkpoints SET root_hash = ? WHERE log_id = ? AND size = 9", [
          leafHash(new Uint8Array([7])),
          logId,
        ]);
        expect((await verifyOne(logId)).firstFailure).toEqual({
          size: 9,
          reason: "checkpoint at size 9: signature does not verify",
        });
      });

      test("a checkpoint signed by another key fails, and so does a stored key that is not the trusted one", async () => {
        const logId = newLogId("otherkey");
        await writeLog(store, logId);
        const mallory = await importSigner(await generateSignerKeys());
        const events = await store.readEvents(logId, 0, 100);
        const { MerkleFrontier } = await import("../../src/audit/merkle.ts");
        const f = new MerkleFrontier();
        for (const e of events) f.append(e.leafHash);
        const cp = await signCheckpoint(mallory, logId, f.size, f.root(), 1_800_000_000_000);
        await h.exec(
          "INSERT INTO checkpoints (log_id, size, root_hash, time, signature) VALUES (?, ?, ?, ?, ?)",
          [logId, cp.size, cp.rootHash, cp.time, cp.signature],
        );
        expect((await verifyOne(logId)).firstFailure).toEqual({
          size: 17,
          reason: "checkpoint at size 17: signature does not verify",
        });
        const trusted = await verifyLog(store, { logIds: [logId], trustedPublicKey: mallory.publicKey });
        expect(trusted.logs[0]!.firstFailure!.reason).toContain("not by the trusted key");
      });

      test("a changed recording fails against its recording.batch event", async () => {
        const logId = newLogId("recording");
        const { sessionId } = await writeLog(store, logId);
        await h.exec("UPDATE recordings SET data = ? WHERE log_id = ? AND session_id = ?", [
          new Uint8Array([0x90]),
          logId,
          sessionId,
        ]);
        expect((await verifyOne(logId)).firstFailure).toEqual({
          seq: 8,
          reason: `recording ${sessionId}#0 does not match the SHA-256 in seq 8`,
        });
      });

      test("a deleted recording is reported against its event", async () => {
        const logId = newLogId("norecording");
        await writeLog(store, logId);
        await h.exec("DELETE FROM recordings WHERE log_id = ?", [logId]);
        expect((await verifyOne(logId)).firstFailure).toEqual({
          seq: 8,
          reason: "seq 8 records a batch whose recording is missing",
        });
      });

      test("an unknown log id is a failure, not a silent pass", async () => {
        const r = await verifyLog(store, { logIds: ["no-such-log"] });
        expect(r.ok).toBe(false);
        expect(r.logs[0]!.firstFailure!.reason).toBe("log no-such-log not found in the store");
      });
    });

    describe("recorder", () => {
      const start = async (logId: string, extra: Partial<Parameters<typeof Recorder.start>[0]> = {}) =>
        Recorder.start({ storeUrl: h.url, logId, signer: await testKeys, ...extra });

      test("concurrent durable() calls share commits (group commit)", async () => {
        const logId = newLogId("group");
        const rec = await start(logId, { checkpointIntervalMs: 60_000 });
        const waits: Promise<void>[] = [];
        for (let i = 0; i < 100; i++) {
          rec.event(ev("statement", "s-group", { seq: i, text: `select ${i}` }));
          waits.push(rec.durable());
        }
        await Promise.all(waits);
        const s = rec.stats();
        expect(s.committedEvents).toBe(100);
        expect(s.commits).toBeLessThanOrEqual(2);
        expect(s.queueDepth).toBe(0);
        expect(await store.logSize(logId)).toBe(100);
        await rec.close();
      });

      test("durable() after a durable append resolves at once, and covers earlier buffered appends", async () => {
        const logId = newLogId("durable");
        const rec = await start(logId, { flushIntervalMs: 60_000, checkpointIntervalMs: 60_000 });
        rec.event(ev("statement", undefined, { n: 1 }));
        await new Promise((r) => setTimeout(r, 10)); // posted to the worker as a buffered append
        expect(await store.logSize(logId)).toBe(0);
        await rec.durable();
        expect(await store.logSize(logId)).toBe(1);
        await rec.durable();
        await rec.close();
      });

      test("buffered appends are committed without durable(), within the flush interval", async () => {
        const logId = newLogId("buffered");
        const rec = await start(logId, { flushIntervalMs: 20, checkpointIntervalMs: 60_000 });
        rec.event(ev("auth.failure", undefined, { reason: "expired" }));
        rec.frame("s-buf", frame(1));
        const deadline = Date.now() + 5_000;
        // The store shows the rows before the worker's "committed" message reaches this thread's stats.
        while (((await store.logSize(logId)) < 2 || rec.stats().commits < 1) && Date.now() < deadline) {
          await Bun.sleep(10);
        }
        expect(await store.logSize(logId)).toBe(2);
        expect(rec.stats().commits).toBe(1);
        await rec.close();
      });

      test("a checkpoint is written periodically when there are new events, and at close", async () => {
        const logId = newLogId("periodic");
        const rec = await start(logId, { checkpointIntervalMs: 50 });
        rec.event(ev("gateway.start", undefined, { version: "test" }));
        await rec.durable();
        const deadline = Date.now() + 5_000;
        while ((await store.checkpoints(logId)).length === 0 && Date.now() < deadline) await Bun.sleep(10);
        expect((await store.checkpoints(logId)).map((c) => c.size)).toEqual([1]);
        await Bun.sleep(150); // no new events: no new checkpoint
        expect((await store.checkpoints(logId)).length).toBe(1);
        rec.event(ev("gateway.stop", undefined, {}));
        await rec.close();
        expect((await store.checkpoints(logId)).map((c) => c.size)).toEqual([1, 2]);
        expect(await verifyOne(logId)).toMatchObject({ ok: true, events: 2, uncheckpointed: 0 });
      });

      test("close flushes everything and writes the final checkpoint; the log resumes on restart", async () => {
        const logId = newLogId("close");
        const rec = await start(logId, { flushIntervalMs: 60_000, checkpointIntervalMs: 60_000 });
        rec.event(ev("session.start", "s-close", { subject: "bob" }));
        for (let i = 0; i < 10; i++) rec.frame("s-close", frame(i));
        rec.event(
          ev("session.end", "s-close", { reason: "shutdown", bytes_from_client: 1, bytes_to_client: 2 }),
        );
        await rec.close();
        expect(() => rec.event(ev("statement", undefined, {}))).toThrow("recorder closed");
        expect(await store.logSize(logId)).toBe(3);
        expect((await store.checkpoints(logId)).map((c) => c.size)).toEqual([3]);
        expect((await store.sessionFrames("s-close")).length).toBe(10);

        const again = await start(logId, { checkpointIntervalMs: 60_000 });
        again.event(ev("gateway.start", undefined, {}));
        await again.close();
        expect(await store.logSize(logId)).toBe(4);
        expect(await verifyOne(logId)).toMatchObject({
          ok: true,
          events: 4,
          checkpoints: 2,
          uncheckpointed: 0,
        });
      });

      test("a log id registered with another key refuses to start", async () => {
        const logId = newLogId("wrongkey");
        await (await start(logId)).close();
        const err = await Recorder.start({
          storeUrl: h.url,
          logId,
          signer: await generateSignerKeys(),
        }).catch((e) => e);
        expect(err).toBeInstanceOf(CustosError);
        expect(err.code).toBe("audit.unavailable");
        expect(err.message).toBe(`audit log ${logId} was created with a different key`);
      });

      test("passwords and tokens are never recorded", async () => {
        const logId = newLogId("secrets");
        const rec = await start(logId);
        rec.event(
          ev("auth.failure", "s-secret", {
            reason: "bad",
            password: "hunter2-Secret",
            nested: [{ access_token: "eyJ-Token" }],
          }),
        );
        rec.frame("s-secret", {
          t: 1,
          dir: "client",
          kind: "PasswordMessage",
          data: { password: "hunter2-Secret" },
        });
        rec.frame("s-secret", {
          t: 2,
          dir: "client",
          kind: "Query",
          data: { text: "select 1", Authorization: "Bearer eyJ-Token" },
        });
        await rec.durable();
        await rec.close();
        const [e] = await store.sessionEvents("s-secret");
        expect(e!.data).toEqual({
          reason: "bad",
          password: "[redacted]",
          nested: [{ access_token: "[redacted]" }],
        });
        const frames = await store.sessionFrames("s-secret");
        expect(frames[0]!.data).toEqual({ redacted: true });
        expect(frames[1]!.data).toEqual({ text: "select 1", Authorization: "[redacted]" });
        for (const row of await store.readEvents(logId, 0, 10)) {
          const text = Buffer.from(row.body).toString("latin1");
          expect(text).not.toContain("hunter2");
          expect(text).not.toContain("eyJ-Token");
          expect(decodeEvent(row.body).type).toBe(row.type);
        }
      });

      test("store outage: writable() goes false, durable() rejects, nothing accepted is lost", async () => {
        const logId = newLogId("outage");
        const rec = await start(logId, { flushIntervalMs: 5, checkpointIntervalMs: 60_000 });
        const states: boolean[] = [];
        rec.onStateChange((s) => states.push(s.writable));
        rec.event(ev("statement", undefined, { n: 0 }));
        await rec.durable();

        const end = await h.outage();
        let ended = false;
        try {
          rec.event(ev("statement", undefined, { n: 1 }));
          const err = await rec.durable().catch((e) => e);
          expect(err).toBeInstanceOf(CustosError);
          expect(err.code).toBe("audit.unavailable");
          expect(err.message).toStartWith("audit store unavailable: audit store write failed");
          expect(rec.writable()).toBe(false);
          expect(rec.stats().failures).toBeGreaterThanOrEqual(1);
          // Fail closed: while unwritable a durable append is refused at once.
          const again = await rec.durable().catch((e) => e);
          expect(again.code).toBe("audit.unavailable");
          // Appends during the outage are still accepted (the session end, the refusals) and kept in order.
          for (let n = 2; n < 6; n++) rec.event(ev("statement", undefined, { n }));
          await end();
          ended = true;
          const deadline = Date.now() + 15_000;
          while (!rec.writable() && Date.now() < deadline) await Bun.sleep(20);
          expect(rec.writable()).toBe(true);
          await rec.durable();
        } finally {
          if (!ended) await end();
        }
        await rec.close();
        const stored = await store.readEvents(logId, 0, 100);
        expect(stored.map((r) => decodeEvent(r.body).data.n)).toEqual([0, 1, 2, 3, 4, 5]);
        // Down, back up, then closed.
        expect(states).toEqual([false, true, false]);
        expect(await verifyOne(logId)).toMatchObject({ ok: true, events: 6, uncheckpointed: 0 });
      }, 60_000);

      test("past maxQueue, appends are refused with audit.unavailable until the store catches up", async () => {
        const logId = newLogId("maxqueue");
        const rec = await start(logId, { maxQueue: 5, flushIntervalMs: 5, checkpointIntervalMs: 60_000 });
        const end = await h.outage();
        let ended = false;
        try {
          for (let n = 0; n < 5; n++) rec.event(ev("statement", undefined, { n }));
          expect(rec.writable()).toBe(false);
          let refused: unknown;
          try {
            rec.frame("s-q", frame(1));
          } catch (e) {
            refused = e;
          }
          expect(refused).toBeInstanceOf(CustosError);
          expect((refused as CustosError).message).toBe(
            "audit store unavailable: queue full (5 entries not yet committed)",
          );
          await end();
          ended = true;
          const deadline = Date.now() + 15_000;
          while (!rec.writable() && Date.now() < deadline) await Bun.sleep(20);
          expect(rec.writable()).toBe(true);
        } finally {
          if (!ended) await end();
        }
        await rec.close();
        expect(await store.logSize(logId)).toBe(5);
      }, 60_000);
    });
  });
}
