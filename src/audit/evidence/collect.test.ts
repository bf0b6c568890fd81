// What a bundle takes from a log: events by time and by connection or subject, the policy event in force
// when the range opens, checkpoints (thinned), proofs that verify, and the tail no signature covers yet.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditEvent } from "../../core/audit-event.ts";
import { generateSignerKeys, importSigner } from "../checkpoint.ts";
import { LogWriter } from "../log-writer.ts";
import { leafHash, verifyConsistency, verifyInclusion } from "../merkle.ts";
import { openSqliteStore } from "../sqlite-store.ts";
import { collectLog } from "./collect.ts";

const dir = mkdtempSync(join(tmpdir(), "custos-collect-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function world() {
  const store = openSqliteStore(join(dir, `${crypto.randomUUID()}.db`));
  const writer = await LogWriter.open(store, "gw-t", await importSigner(await generateSignerKeys()));
  const commit = async (events: AuditEvent[], checkpoint: boolean, now: number) => {
    const p = await writer.prepare(events, new Map(), checkpoint, now);
    await store.commit(p.batch);
    writer.accept(p, now);
  };
  return { store, commit };
}

const start = (sid: string, subject: string, connection: string, time: number): AuditEvent => ({
  type: "session.start",
  time,
  sessionId: sid,
  data: { subject, connection },
});
const stmt = (sid: string, time: number): AuditEvent => ({
  type: "statement",
  time,
  sessionId: sid,
  data: { action: "allow" },
});

test("selection, proofs, thinning and the unsigned tail", async () => {
  const { store, commit } = await world();
  await commit([{ type: "gateway.start", time: 100, data: { policy_bundle: "abc" } }], true, 100);
  await commit([start("a", "alice", "ledger", 900), stmt("a", 1000)], true, 1000); // before the range
  for (let i = 0; i < 12; i++) {
    await commit(
      [start(`s${i}`, i % 2 ? "bob" : "alice", i % 3 ? "ledger" : "crm", 2000 + i), stmt(`s${i}`, 2000 + i)],
      true,
      2000 + i,
    );
  }
  await commit([stmt("s0", 2100)], false, 2100); // after the newest checkpoint: not signed yet
  const log = { logId: "gw-t", publicKey: new Uint8Array(32) };

  const all = await collectLog(store, log, { from: 2000, to: 3000 });
  expect(all.events.map((e) => e.row.seq)[0]).toBe(0); // gateway.start: the policy in force at `from`
  expect(all.events.length).toBe(1 + 24);
  expect(all.unproven).toBe(1);
  expect(all.treeSize).toBe(27);
  for (const e of all.events) {
    const proof = all.inclusion.get(e.row.seq)!;
    expect(
      verifyInclusion(e.row.seq, all.treeSize, leafHash(e.row.body), proof, all.checkpoints.at(-1)!.rootHash),
    ).toBe(true);
  }
  expect(all.checkpoints[0]!.size).toBe(3); // the state the range starts from
  all.consistency.forEach((c, i) => {
    expect(
      verifyConsistency(
        c.from,
        c.to,
        all.checkpoints[i]!.rootHash,
        all.checkpoints[i + 1]!.rootHash,
        c.proof,
      ),
    ).toBe(true);
  });

  const bob = await collectLog(store, log, { from: 2000, to: 3000, subject: "bob", connection: "ledger" });
  const sessions = new Set(bob.events.filter((e) => e.row.sessionId).map((e) => e.row.sessionId));
  expect([...sessions].sort()).toEqual(["s1", "s5", "s7", "s11"].sort());
  expect(bob.events[0]!.row.type).toBe("gateway.start");

  const thinned = await collectLog(store, log, { from: 2000, to: 3000, maxCheckpoints: 4 });
  expect(thinned.checkpoints.map((c) => c.size)).toEqual([
    all.checkpoints[0]!.size,
    ...thinned.checkpoints.slice(1, 3).map((c) => c.size),
    27,
  ]);
  expect(thinned.checkpoints.length).toBe(4);
  expect(thinned.consistency.length).toBe(3);
  await store.close();
});
