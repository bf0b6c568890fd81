// Reads the SSH fixture's audit store (sqlite:<dataDir>/audit.db) after flushing the recorder.
import { type AuditStore, openStore, type StoredEvent } from "../../src/audit/store.ts";
import { allEvents } from "../support/audit-read.ts";
import type { SshFixture } from "./support.ts";

export async function withSshStore<T>(f: SshFixture, fn: (store: AuditStore) => Promise<T>): Promise<T> {
  await f.gw.recorder.durable();
  const store = await openStore(`sqlite:${f.dataDir}/audit.db`);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function withEvents<T>(f: SshFixture, fn: (events: StoredEvent[]) => T | Promise<T>): Promise<T> {
  return withSshStore(f, async (store) => fn(await allEvents(store)));
}
