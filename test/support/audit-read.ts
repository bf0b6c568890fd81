// Reads the test gateway's own audit store (sqlite:<dataDir>/audit.db) after flushing the recorder, and waits
// for events that are written asynchronously (session.end follows the socket close).
import { decodeEvent } from "../../src/audit/codec.ts";
import { type AuditStore, openStore, type StoredEvent } from "../../src/audit/store.ts";
import type { TestGateway } from "./gateway.ts";

export async function withStore<T>(gw: TestGateway, fn: (store: AuditStore) => Promise<T>): Promise<T> {
  await gw.gw.recorder.durable();
  const store = await openStore(`sqlite:${gw.dataDir}/audit.db`);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Every event of every log in the store, in log order. */
export async function allEvents(store: AuditStore): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for (const log of await store.logs()) {
    for (let from = 0; ; ) {
      const rows = await store.readEvents(log.logId, from, 1000);
      if (!rows.length) break;
      for (const r of rows) out.push({ ...decodeEvent(r.body), logId: log.logId, seq: r.seq } as StoredEvent);
      from = rows[rows.length - 1]!.seq + 1;
    }
  }
  return out;
}

/** Polls the store until an event matches (session.end and failures are recorded after the socket closes). */
export async function waitForEvent(
  gw: TestGateway,
  match: (e: StoredEvent) => boolean,
  timeoutMs = 5000,
): Promise<StoredEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await withStore(gw, async (s) => (await allEvents(s)).find(match));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching audit event within ${timeoutMs} ms`);
    await Bun.sleep(50);
  }
}
