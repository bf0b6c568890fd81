// The integrity panel's source: the last `audit verify` result, cached because verifying a long log reads
// every event and recording. One run at a time; a request older than maxAge starts a new run and, if that
// takes more than a moment, is answered from the previous result with running: true.
import type { AuditStore } from "../../audit/store.ts";
import { type ExpectedLog, type VerifyReport, verifyLog } from "../../audit/verify.ts";

export interface VerifyStatus {
  report: VerifyReport | null;
  /** Epoch ms the report was computed, and how long it took. */
  checkedAt: number | null;
  tookMs: number | null;
  running: boolean;
  /** Set when the verification itself could not run (store unreadable). */
  error: string | null;
}

export interface VerifyCache {
  status(opts?: { fresh?: boolean; waitMs?: number }): Promise<VerifyStatus>;
}

export function createVerifyCache(
  store: AuditStore,
  maxAgeMs: number,
  now: () => number = Date.now,
  expect: () => Promise<ExpectedLog[]> = async () => [],
): VerifyCache {
  let last: Omit<VerifyStatus, "running"> = { report: null, checkedAt: null, tookMs: null, error: null };
  let running: Promise<void> | null = null;

  const run = () => {
    running ??= (async () => {
      const started = now();
      try {
        const report = await verifyLog(store, { expect: await expect() });
        last = { report, checkedAt: now(), tookMs: now() - started, error: null };
      } catch (err) {
        last = { ...last, checkedAt: now(), tookMs: now() - started, error: (err as Error).message };
      } finally {
        running = null;
      }
    })();
    return running;
  };

  return {
    async status({ fresh = false, waitMs = 2_000 } = {}) {
      const stale = last.checkedAt === null || now() - last.checkedAt > maxAgeMs;
      if (fresh || stale) {
        const pending = run();
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([pending, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
        clearTimeout(timer);
      }
      return { ...last, running: running !== null };
    },
  };
}

const caches = new WeakMap<object, VerifyCache>();

/** One cache per gateway (per deps object), shared by the API and the console page. */
export function verifyCacheFor(deps: {
  store: AuditStore;
  verifyMaxAgeMs?: number;
  now?: () => number;
  verifyExpect?: () => Promise<ExpectedLog[]>;
}): VerifyCache {
  let cache = caches.get(deps);
  if (!cache) {
    cache = createVerifyCache(
      deps.store,
      deps.verifyMaxAgeMs ?? 60_000,
      deps.now ?? Date.now,
      deps.verifyExpect,
    );
    caches.set(deps, cache);
  }
  return cache;
}

/** Each log in the store with its checkpoint count and latest (largest) signed checkpoint. */
export async function logCheckpoints(store: AuditStore) {
  const logs = await store.logs();
  return Promise.all(
    logs.map(async (log) => {
      const cps = await store.checkpoints(log.logId);
      const latest = cps.reduce<(typeof cps)[number] | undefined>(
        (a, b) => (!a || b.size > a.size ? b : a),
        undefined,
      );
      return { log, count: cps.length, latest };
    }),
  );
}
