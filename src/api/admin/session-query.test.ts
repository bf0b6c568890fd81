import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AuditStore, openStore, type SessionDelta } from "../../audit/store.ts";
import { querySessions } from "./session-query.ts";

let dir: string;
let store: AuditStore;
const LOG = "gw-test";

// 600 sessions: 250 started in the same millisecond (more than the store's page), the rest one per ms.
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "custos-sq-"));
  store = await openStore(`sqlite:${join(dir, "audit.db")}`);
  await store.ensureLog(LOG, new Uint8Array(32), 0);
  const sessions: SessionDelta[] = [];
  for (let i = 0; i < 600; i++) {
    const startedAt = i < 250 ? 1_000 : 1_000 + i;
    sessions.push({
      id: `s-${String(i).padStart(4, "0")}`,
      logId: LOG,
      start: {
        subject: i % 3 === 0 ? "alice" : "bob",
        issuer: "iss",
        kind: "agent",
        connection: i % 2 === 0 ? "ledger" : "crm",
        protocol: "postgres",
        targetUser: "app",
        clientAddr: "127.0.0.1",
        application: "psql",
        startedAt,
      },
      statements: 1,
      end:
        i % 5 === 0
          ? undefined
          : { endedAt: startedAt + 5, endReason: i % 7 === 0 ? "error" : "client", bytesIn: 1, bytesOut: 1 },
    });
  }
  await store.commit({ logId: LOG, events: [], recordings: [], sessions });
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function all(filter: Parameters<typeof querySessions>[1], limit: number, scanBudget?: number) {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1_000; pages++) {
    const page = await querySessions(store, filter, { limit, cursor, scanBudget });
    ids.push(...page.items.map((s) => s.id));
    if (!page.nextCursor) return { ids, pages: pages + 1 };
    cursor = page.nextCursor;
  }
  throw new Error("did not finish");
}

test("paging walks every session exactly once, through a millisecond holding more than a store page", async () => {
  const { ids } = await all({}, 37);
  expect(ids.length).toBe(600);
  expect(new Set(ids).size).toBe(600);
});

test("filters combine, and a small scan budget only shortens pages", async () => {
  const want = (i: number) => i % 3 === 0 && i % 2 === 0 && i % 5 !== 0 && i % 7 !== 0;
  const expected = Array.from({ length: 600 }, (_, i) => i).filter(want).length;
  const filter = { subject: "alice", connection: "ledger", outcome: "client" };
  expect((await all(filter, 10)).ids.length).toBe(expected);
  const budgeted = await all(filter, 10, 50);
  expect(budgeted.ids.length).toBe(expected);
  expect(budgeted.pages).toBeGreaterThan(10);
  expect((await all({ outcome: "open" }, 500)).ids.length).toBe(120);
  expect((await all({ from: 1_500, to: 1_510 }, 500)).ids.length).toBe(10);
});

test("an unknown outcome and a foreign cursor are refused", async () => {
  await expect(querySessions(store, { outcome: "won" }, { limit: 5 })).rejects.toThrow(
    "outcome must be one of",
  );
  await expect(querySessions(store, {}, { limit: 5, cursor: "bm9wZQ" })).rejects.toThrow("cursor");
});
