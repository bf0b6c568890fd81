import { Database } from "bun:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditEvent } from "../core/audit-event.ts";
import { CustosError } from "../core/errors.ts";
import { generateSignerKeys, importSigner, verifyCheckpoint } from "./checkpoint.ts";
import { decodeEvent, decodeFrames, hex, sha256 } from "./codec.ts";
import { LogWriter } from "./log-writer.ts";
import { rootOf } from "./merkle.ts";
import { openSqliteStore } from "./sqlite-store.ts";
import type { AuditStore } from "./store.ts";

const signer = generateSignerKeys().then(importSigner);
const st = (sessionId: string, n: number): AuditEvent => ({
  type: "statement",
  time: 10 + n,
  sessionId,
  data: { n },
});

describe("LogWriter", () => {
  let dir: string;
  let store: AuditStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "custos-logwriter-"));
    store = openSqliteStore(join(dir, "a.db"));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("assigns contiguous seqs; a prepared batch that is not accepted changes nothing", async () => {
    const w = await LogWriter.open(store, "gw", await signer);
    const a = await w.prepare([st("s", 0), st("s", 1)], new Map(), false);
    const again = await w.prepare([st("s", 0), st("s", 1)], new Map(), false);
    expect(a.batch.events.map((e) => e.seq)).toEqual([0, 1]);
    expect(hex(again.batch.events[1]!.leafHash)).toBe(hex(a.batch.events[1]!.leafHash));
    expect(w.size).toBe(0);
    await store.commit(a.batch);
    w.accept(a);
    const b = await w.prepare([st("s", 2)], new Map(), false);
    expect(b.batch.events.map((e) => e.seq)).toEqual([2]);
  });

  test("frames become one recording per session per batch, covered by a recording.batch event", async () => {
    const w = await LogWriter.open(store, "gw", await signer);
    const frames = new Map([
      ["s1", [{ t: 5, dir: "client" as const, kind: "Query", data: { text: "select 1" } }]],
      [
        "s2",
        [
          { t: 6, dir: "server" as const, kind: "DataRow" },
          { t: 7, dir: "server" as const, kind: "CommandComplete" },
        ],
      ],
    ]);
    const p = await w.prepare([st("s1", 0)], frames, false, 99);
    expect(
      p.batch.recordings.map((r) => [r.sessionId, r.batch, r.eventSeq, r.frameCount, r.firstTime]),
    ).toEqual([
      ["s1", 0, 1, 1, 5],
      ["s2", 0, 2, 2, 6],
    ]);
    const ev = decodeEvent(p.batch.events[2]!.body);
    expect(ev).toEqual({
      type: "recording.batch",
      time: 99,
      sessionId: "s2",
      data: { batch: 0, frames: 2, sha256: hex(sha256(p.batch.recordings[1]!.data)) },
    });
    expect(decodeFrames(p.batch.recordings[1]!.data).map((f) => f.kind)).toEqual([
      "DataRow",
      "CommandComplete",
    ]);
    await store.commit(p.batch);
    w.accept(p);
    const next = await w.prepare(
      [],
      new Map([["s2", [{ t: 8, dir: "client" as const, kind: "Sync" }]]]),
      false,
    );
    expect(next.batch.recordings[0]!.batch).toBe(1);
  });

  test("folds session.start, statements and session.end of one batch into one projection row", async () => {
    const w = await LogWriter.open(store, "gw", await signer);
    const p = await w.prepare(
      [
        {
          type: "session.start",
          time: 1,
          sessionId: "s",
          data: { subject: "a", client_addr: "127.0.0.1", target_user: "app" },
        },
        st("s", 1),
        st("s", 2),
        {
          type: "session.end",
          time: 9,
          sessionId: "s",
          data: { reason: "client", bytes_from_client: 3, bytes_to_client: "x" },
        },
        { type: "auth.failure", time: 2, data: { reason: "expired" } },
      ],
      new Map(),
      false,
    );
    expect(p.batch.sessions).toEqual([
      {
        id: "s",
        logId: "gw",
        statements: 2,
        start: {
          subject: "a",
          issuer: null,
          kind: null,
          connection: null,
          protocol: null,
          targetUser: "app",
          clientAddr: "127.0.0.1",
          application: null,
          startedAt: 1,
        },
        end: { endedAt: 9, endReason: "client", bytesIn: 3, bytesOut: 0 },
      },
    ]);
  });

  test("signs a checkpoint only when asked and when events are not yet covered", async () => {
    const s = await signer;
    const w = await LogWriter.open(store, "gw", s);
    const p = await w.prepare([st("s", 0), st("s", 1), st("s", 2)], new Map(), true, 1234);
    const cp = p.batch.checkpoint!;
    expect(cp.size).toBe(3);
    expect(hex(cp.rootHash)).toBe(hex(rootOf(p.batch.events.map((e) => e.leafHash))));
    expect(await verifyCheckpoint(s.publicKey, cp)).toBe(true);
    await store.commit(p.batch);
    w.accept(p);
    expect(w.checkpointDue).toBe(false);
    expect((await w.prepare([], new Map(), true)).batch.checkpoint).toBeUndefined();
  });

  test("a value msgpack cannot encode is kept as an explained event, not a wedged log", async () => {
    const w = await LogWriter.open(store, "gw", await signer);
    const p = await w.prepare(
      [{ type: "statement", time: 1, data: { rows: 10n } }],
      new Map([
        [
          "s",
          [
            { t: 1, dir: "client" as const, kind: "Query", data: { big: 2n } },
            { t: 2, dir: "client" as const, kind: "Sync" },
          ],
        ],
      ]),
      false,
    );
    const body = decodeEvent(p.batch.events[0]!.body);
    expect(body.type).toBe("statement");
    expect(typeof body.data.unencodable).toBe("string");
    const frames = decodeFrames(p.batch.recordings[0]!.data);
    expect(frames[0]!.kind).toBe("Query");
    expect(typeof frames[0]!.data!.unencodable).toBe("string");
    expect(frames[1]).toEqual({ t: 2, dir: "client", kind: "Sync" });
  });

  test("reopening resumes the frontier; a gap in the stored log refuses to open", async () => {
    const s = await signer;
    const w = await LogWriter.open(store, "gw", s);
    const p = await w.prepare([st("s", 0), st("s", 1), st("s", 2)], new Map(), true);
    await store.commit(p.batch);
    w.accept(p);
    const resumed = await LogWriter.open(store, "gw", s);
    expect(resumed.size).toBe(3);
    expect(resumed.checkpointDue).toBe(false);
    const raw = new Database(join(dir, "a.db"));
    raw.exec("DELETE FROM audit_events WHERE seq = 1");
    raw.close();
    const err = await LogWriter.open(store, "gw", s).catch((e) => e);
    expect(err).toBeInstanceOf(CustosError);
    expect(err.message).toBe("audit log gw has a gap at seq 1");
  });
});
