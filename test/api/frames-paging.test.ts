// The frames endpoint over long recordings: pages read only the batches they show, yet together they give
// exactly the whole-recording decode; cursors are sealed to their session; every page is an audited read;
// a tampered batch is served as stored and named by `audit verify`, as before. Logs page latency for a
// session of ~2,000 batches, whole-recording decode (the old endpoint) against the paged read.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdminDeps } from "../../src/api/admin/deps.ts";
import { toJsonValue } from "../../src/api/admin/json-value.ts";
import { sessionFrames } from "../../src/api/admin/recording.ts";
import { openAdmin } from "../../src/api/admin/wire.ts";
import { createHttpApp } from "../../src/api/http.ts";
import { encodeFrames } from "../../src/audit/codec.ts";
import { LogWriter } from "../../src/audit/log-writer.ts";
import { type AuditStore, type CommitBatch, openStore } from "../../src/audit/store.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { AuditEvent } from "../../src/core/audit-event.ts";
import type { Frame } from "../../src/core/frame.ts";
import { createAuthenticator } from "../../src/identity/authenticator.ts";
import { loadOrCreateGatewayKey } from "../../src/identity/gateway-key.ts";
import { issueGatewayToken } from "../../src/identity/gateway-tokens.ts";
import { ev, testSigner } from "../audit/fixtures.ts";
import { pgRecording } from "./pg-recording-fixture.ts";

const LOG = "frames-paging-log";
const dir = mkdtempSync(join(tmpdir(), "custos-frames-"));
const url = `sqlite:${join(dir, "audit.db")}`;
const reads: AuditEvent[] = [];
let store: AuditStore;
let admin: { deps: AdminDeps; close(): Promise<void> };
let app: ReturnType<typeof createHttpApp>;
let token: string;

/** Writes a postgres session's batches, many per commit (one fsync each), through the real LogWriter. */
async function writeSession(writer: LogWriter, sid: string, batches: Frame[][]): Promise<void> {
  const start = ev(
    "session.start",
    sid,
    { subject: "agent", protocol: "postgres", connection: "ledger" },
    1_000,
  );
  for (let i = 0; i < batches.length; i += 200) {
    let merged: CommitBatch | null = null;
    for (const [j, frames] of batches.slice(i, i + 200).entries()) {
      const p = await writer.prepare(
        i + j === 0 ? [start] : [],
        new Map([[sid, frames]]),
        false,
        1_000 + i + j,
      );
      writer.accept(p);
      if (!merged) merged = { ...p.batch, events: [...p.batch.events], recordings: [...p.batch.recordings] };
      else {
        merged.events.push(...p.batch.events);
        merged.recordings.push(...p.batch.recordings);
      }
    }
    await store.commit(merged!);
  }
}

const call = (path: string) =>
  Promise.resolve(app.request(`http://gw.test${path}`, { headers: { authorization: `Bearer ${token}` } }));

async function pageAll(sid: string, limit: number) {
  const items: unknown[] = [];
  const totals = new Set<number>();
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r = await call(`/api/sessions/${sid}/frames?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(r.status).toBe(200);
    const page = (await r.json()) as { items: unknown[]; total: number; next_cursor: string | null };
    expect(page.items.length).toBeLessThanOrEqual(limit);
    if (page.next_cursor) expect(page.items.length).toBe(limit);
    items.push(...page.items);
    totals.add(page.total);
    cursor = page.next_cursor;
    pages++;
  } while (cursor);
  return { items, totals: [...totals], pages };
}

/** What the old endpoint did for every page: decode the whole recording, then slice. */
async function wholeDecode(sid: string) {
  const s = (await store.getSession(sid))!;
  const frames = await sessionFrames(admin.deps, s);
  return frames.map((f) => ({ t: f.t, dir: f.dir, kind: f.kind, data: toJsonValue(f.data ?? null) }));
}

const small = pgRecording(11, { exchanges: 120, malformed: true });
const big = pgRecording(12, { exchanges: 950, maxRows: 16 });

beforeAll(async () => {
  store = await openStore(url);
  const writer = await LogWriter.open(store, LOG, await testSigner());
  await writeSession(writer, "s-small", small);
  await writeSession(writer, "s-other", pgRecording(13, { exchanges: 40 }));
  await writeSession(writer, "s-big", big);
  const config = parseConfig(
    {
      identity: { issuers: [{ issuer: "https://login.example.com", audience: "custos" }] },
      console: { roles: { admin: ["admins"], auditor: ["auditors"] } },
      data_dir: dir,
    },
    dir,
    {},
  );
  const key = await loadOrCreateGatewayKey(dir);
  admin = await openAdmin({
    config,
    storeUrl: url,
    authenticator: createAuthenticator({ issuers: [], agentGroups: [], gatewayKey: key }),
    audit: { event: (e) => reads.push(e) },
    policy: { hash: null, onSwap: () => () => {} },
    logId: LOG,
    gatewayPublicKey: key.publicRaw,
    approvals: null,
  });
  app = createHttpApp({ notReady: () => [], metrics: () => "" }, { admin: admin.deps });
  token = await issueGatewayToken(key, {
    subject: "auditor-ann",
    groups: ["auditors"],
    kind: "human",
    ttlMs: 600_000,
  });
}, 60_000);

afterAll(async () => {
  await admin?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("frames paging", () => {
  test("pages of every size give exactly the whole-recording decode, in order, no duplicates or gaps", async () => {
    const whole = await wholeDecode("s-small");
    expect(small.length).toBeGreaterThan(100);
    // The recording holds messages split across batches and frames the decoders refuse.
    expect(whole.some((f) => f.kind === "Undecodable")).toBe(true);
    expect(whole.filter((f) => f.kind === "DataRow").length).toBeGreaterThan(100);
    // And a clean one, whose messages span batches without any error to resynchronize on.
    const clean = await wholeDecode("s-other");
    expect(clean.some((f) => f.kind === "Undecodable")).toBe(false);
    for (const [sid, expected] of [
      ["s-small", whole],
      ["s-other", clean],
    ] as const) {
      for (const limit of [2, 7, 50, 5_000]) {
        const got = await pageAll(sid, limit);
        expect(got.totals).toEqual([expected.length]);
        expect(got.items).toEqual(JSON.parse(JSON.stringify(expected)));
        expect(got.pages).toBe(Math.max(1, Math.ceil(expected.length / limit)));
      }
    }
  }, 60_000);

  test("each page is an audited read with its offset and count", async () => {
    reads.length = 0;
    const got = await pageAll("s-small", 97);
    const mine = reads.filter((e) => e.type === "recording.read" && e.sessionId === "s-small");
    expect(mine.length).toBe(got.pages);
    let offset = 0;
    for (const e of mine) {
      expect(e.data).toMatchObject({ who: "auditor-ann", what: "frames", offset });
      offset += e.data.count as number;
    }
    expect(offset).toBe(got.items.length);
  });

  test("a bad, forged, foreign or old-style cursor is a 400 problem+json, and no read is recorded", async () => {
    const first = (await (await call("/api/sessions/s-small/frames?limit=10")).json()) as {
      next_cursor: string;
    };
    const other = (await (await call("/api/sessions/s-other/frames?limit=10")).json()) as {
      next_cursor: string;
    };
    const [v, iv, body, tag] = first.next_cursor.split(".");
    const flipped = `${body!.slice(0, 5)}${body![5] === "A" ? "B" : "A"}${body!.slice(6)}`;
    const bad = {
      garbage: "not-a-cursor",
      "old-style offset": Buffer.from(JSON.stringify({ i: 10 })).toString("base64url"),
      "forged body": [v, iv, flipped, tag].join("."),
      "another session's": other.next_cursor,
    };
    reads.length = 0;
    for (const [what, cursor] of Object.entries(bad)) {
      const r = await call(`/api/sessions/s-small/frames?cursor=${encodeURIComponent(cursor)}`);
      expect({ what, status: r.status }).toEqual({ what, status: 400 });
      expect(r.headers.get("content-type")).toBe("application/problem+json");
      expect(await r.json()).toEqual({
        type: "urn:custos:error:protocol.malformed",
        title: "protocol.malformed",
        status: 400,
        detail: "cursor is not one this API issued for this session",
        error: { code: "protocol.malformed", message: "cursor is not one this API issued for this session" },
      });
    }
    expect(reads.filter((e) => e.type === "recording.read")).toEqual([]);
  });

  test("a batch changed in the store is served as stored, as before, and audit verify names it", async () => {
    const sid = "s-tamper";
    const writer = await LogWriter.open(store, LOG, await testSigner());
    const batches = pgRecording(14, { exchanges: 20 });
    await writeSession(writer, sid, batches);
    const changed = batches[3]!.map((f) => ({ ...f, t: f.t + 1 }));
    const { Database } = await import("bun:sqlite");
    const raw = new Database(join(dir, "audit.db"));
    raw.run("UPDATE recordings SET data = ? WHERE session_id = ? AND batch = 3", [
      Buffer.from(encodeFrames(changed)),
      sid,
    ]);
    raw.close();
    const whole = await wholeDecode(sid);
    expect((await pageAll(sid, 9)).items).toEqual(JSON.parse(JSON.stringify(whole)));
    const report = (await verifyLog(store, { logIds: [LOG] })).logs[0]!;
    expect(report.ok).toBe(false);
    expect(report.firstFailure?.reason).toBe(
      `recording ${sid}#3 does not match the SHA-256 in seq ${(await store.sessionBatches(sid, 3, 1))[0]!.eventSeq}`,
    );
  });

  test("page latency over ~2,000 batches: whole-recording decode against paged reads (logged, not asserted)", async () => {
    expect(big.length).toBeGreaterThan(1_800);
    expect(big.length).toBeLessThan(2_400);
    const timed = async <T>(f: () => Promise<T>) => {
      const t0 = performance.now();
      const v = await f();
      return { v, ms: performance.now() - t0 };
    };
    // Before: the old handler decoded everything for every page, then sliced and serialized the page.
    const before = await timed(async () => {
      const all = await wholeDecode("s-big");
      return JSON.stringify(all.slice(10_000, 10_500)).length;
    });
    const whole = await wholeDecode("s-big");
    const cold = await timed(() => call("/api/sessions/s-big/frames?limit=500"));
    const firstPage = (await cold.v.json()) as { next_cursor: string; total: number };
    expect(firstPage.total).toBe(whole.length);
    const warm = await timed(async () => (await call("/api/sessions/s-big/frames?limit=500")).json());
    // Walk to the middle, then time one page there.
    let cursor = firstPage.next_cursor;
    for (let i = 0; i < Math.floor(whole.length / 1_000); i++) {
      cursor = (
        (await (await call(`/api/sessions/s-big/frames?limit=500&cursor=${cursor}`)).json()) as {
          next_cursor: string;
        }
      ).next_cursor;
    }
    const middle = await timed(async () =>
      (await call(`/api/sessions/s-big/frames?limit=500&cursor=${cursor}`)).json(),
    );
    const mid = middle.v as { items: unknown[] };
    const at = reads.findLast((e) => e.type === "recording.read" && e.sessionId === "s-big")!.data
      .offset as number;
    expect(mid.items).toEqual(JSON.parse(JSON.stringify(whole.slice(at, at + 500))));
    console.log(
      `[frames-paging] session of ${big.length} batches, ${whole.length} decoded frames, pages of 500:\n` +
        `  before (whole-recording decode per page): ${before.ms.toFixed(1)} ms\n` +
        `  after, first page with the total not yet counted: ${cold.ms.toFixed(1)} ms\n` +
        `  after, first page again (total known): ${warm.ms.toFixed(1)} ms\n` +
        `  after, a page at frame ${at} (total known): ${middle.ms.toFixed(1)} ms`,
    );
  }, 60_000);
});
