// A session running beside a hostile test: opened before, kept busy during (a steady stream of checked
// queries through postgres.js), checked after. It proves a bad connection did not disturb a good one: no
// errors, steady progress, the same upstream backend throughout, and every query it ran in the audit log.
import postgres from "postgres";
import { waitForEvent, withStore } from "./audit-read.ts";
import type { TestGateway } from "./gateway.ts";

export interface BusySession {
  readonly subject: string;
  /** Queries completed and checked so far. */
  readonly count: number;
  readonly errors: string[];
  /** Waits for `more` further queries; throws on any error so far or if progress stalls. */
  progressed(more?: number, timeoutMs?: number): Promise<void>;
  /** Stops the loop, checks the backend never changed, closes, and checks the audit log holds every query. */
  finish(): Promise<void>;
}

export async function startBusySession(gw: TestGateway, subject = "side@bank.example"): Promise<BusySession> {
  const token = await gw.token(subject, ["dba"]);
  const sql = postgres(gw.url(token), { max: 1, idle_timeout: 0, connect_timeout: 5, onnotice: () => {} });
  const [first] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const pid = first!.pid;
  const started = await waitForEvent(gw, (e) => e.type === "session.start" && e.data.subject === subject);
  const sessionId = started.sessionId!;
  const errors: string[] = [];
  let count = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const i = count;
      try {
        const [row] = await sql<{ n: number; pid: number }[]>`select ${i}::int as n, pg_backend_pid() as pid`;
        if (row?.n !== i) errors.push(`query ${i} answered ${row?.n}`);
        if (row?.pid !== pid) errors.push(`backend changed from ${pid} to ${row?.pid}`);
        count++;
      } catch (err) {
        errors.push(String(err));
        await Bun.sleep(50);
      }
      await Bun.sleep(2);
    }
  })();

  const check = () => {
    if (errors.length) throw new Error(`side session disturbed: ${errors.join("; ")}`);
  };

  return {
    subject,
    get count() {
      return count;
    },
    errors,
    async progressed(more = 3, timeoutMs = 5000) {
      const target = count + more;
      const deadline = Date.now() + timeoutMs;
      while (count < target && Date.now() < deadline && !errors.length) await Bun.sleep(5);
      check();
      if (count < target) throw new Error(`side session stalled at ${count} queries (wanted ${target})`);
    },
    async finish() {
      running = false;
      await loop;
      check();
      await sql.end({ timeout: 5 });
      // Nothing accepted is lost: every query the side session completed has its statement event.
      const end = await waitForEvent(gw, (e) => e.type === "session.end" && e.sessionId === sessionId);
      if (end.data.reason !== "client") throw new Error(`side session ended with ${String(end.data.reason)}`);
      const statements = await withStore(gw, async (store) =>
        (await store.sessionEvents(sessionId)).filter((e) => e.type === "statement"),
      );
      // +1 for the opening pg_backend_pid query.
      if (statements.length < count + 1) {
        throw new Error(`side session: ${statements.length} statements recorded, ${count + 1} ran`);
      }
      if (statements.some((e) => e.data.error)) throw new Error("side session: a recorded statement failed");
    },
  };
}
