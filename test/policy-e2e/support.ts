// Shared pieces of the policy end-to-end tests: the audit trail read back from the gateway's own store and
// polling helpers. Hand-made message sequences go through test/support/raw-client.ts.
import { decodeEvent } from "../../src/audit/codec.ts";
import { openStore, type StoredEvent } from "../../src/audit/store.ts";
import { storeUrl } from "../../src/gateway.ts";
import type { TestGateway } from "../support/gateway.ts";

/** Polls `check` until it returns a value (not undefined) or the time runs out. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await Bun.sleep(25);
  }
}

/** A libpq URL with an application name, which is how tests find their session in the audit store. */
export function appUrl(gw: TestGateway, token: string, application: string): string {
  return `${gw.url(token)}&application_name=${encodeURIComponent(application)}`;
}

export interface AuditReader {
  /** Every event of the sessions opened with this application name, in log order. */
  events(application: string): Promise<StoredEvent[]>;
  /** The `statement` events of those sessions, waiting until at least `min` are committed. */
  statements(application: string, min?: number): Promise<Record<string, unknown>[]>;
  /** Events of a type outside sessions (policy.reload, gateway.start). */
  gatewayEvents(type: string): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

export async function auditReader(gw: TestGateway): Promise<AuditReader> {
  const store = await openStore(storeUrl(gw.config));
  const events = async (application: string) => {
    const sessions = await store.listSessions({ limit: 1000 });
    const out: StoredEvent[] = [];
    for (const s of sessions.filter((x) => x.application === application).reverse()) {
      out.push(...(await store.sessionEvents(s.id)));
    }
    return out;
  };
  return {
    events,
    async statements(application, min = 1) {
      return eventually(async () => {
        const found = (await events(application)).filter((e) => e.type === "statement").map((e) => e.data);
        return found.length >= min ? found : undefined;
      });
    },
    async gatewayEvents(type) {
      const [log] = await store.logs();
      if (!log) return [];
      const size = await store.logSize(log.logId);
      const rows = await store.readEvents(log.logId, 0, size);
      return rows
        .filter((r) => r.type === type)
        .map((r): StoredEvent => ({ logId: r.logId, seq: r.seq, ...decodeEvent(r.body) }));
    },
    close: () => store.close(),
  };
}
