// `record: sync` through the live gateway: a write's audit record is committed before the client learns
// that it ran. The store is read the moment the client has its CommandComplete and ReadyForQuery, with
// no waiting; reads (`record: buffered`) make no such promise and are only checked to arrive.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AuditStore, openStore } from "../../src/audit/store.ts";
import { storeUrl } from "../../src/gateway.ts";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import * as wire from "../support/raw-client.ts";
import { eventually } from "./support.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let store: AuditStore;

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  db.sql("CREATE TABLE entries (id int primary key, note text)", "ledger");
  gw = await startTestGateway({ pg: db, issuer });
  store = await openStore(storeUrl(gw.config));
});

afterAll(async () => {
  await store?.close();
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

/** The committed statement events of the one session opened with this application name. */
async function committedStatements(application: string): Promise<Record<string, unknown>[]> {
  const sessions = (await store.listSessions({ limit: 1000 })).filter((s) => s.application === application);
  const out: Record<string, unknown>[] = [];
  for (const s of sessions) {
    for (const e of await store.sessionEvents(s.id)) if (e.type === "statement") out.push(e.data);
  }
  return out;
}

describe("record: sync", () => {
  test("each write's statement event is committed before the client sees its CommandComplete", async () => {
    const human = await gw.token("alice", ["dba"]);
    const client = await wire.session(gw.port, human, "sync-writes");
    // The session row is written with the first batch; wait for it so only statements are in question.
    await eventually(async () =>
      (await store.listSessions({ limit: 1000 })).some((s) => s.application === "sync-writes")
        ? true
        : undefined,
    );
    try {
      for (let i = 1; i <= 10; i++) {
        const simple = i % 2 === 1;
        const text = `INSERT INTO entries VALUES (${i}, 'n${i}')`;
        if (simple) client.send(wire.query(text));
        else client.send(wire.parse("", text), wire.bind(""), wire.execute(), wire.sync());
        const out = await client.untilReady();
        expect(out.find((m) => m.type === "C")?.text).toBe("INSERT 0 1");
        // No waiting here: the record must already be durable.
        const events = await committedStatements("sync-writes");
        expect(events).toHaveLength(i);
        expect(events.at(-1)).toMatchObject({
          text,
          action: "allow",
          record: "sync",
          tag: "INSERT 0 1",
          rows: 1,
        });
      }
    } finally {
      client.quit();
    }
  });

  test("inside a transaction block the writes' records are durable before the COMMIT is forwarded", async () => {
    const human = await gw.token("alice", ["dba"]);
    const client = await wire.session(gw.port, human, "txn-writes");
    try {
      client.send(wire.query("BEGIN"));
      await client.untilReady();
      for (let i = 101; i <= 103; i++) {
        client.send(wire.query(`INSERT INTO entries VALUES (${i}, 'txn')`));
        expect((await client.untilReady()).find((m) => m.type === "C")?.text).toBe("INSERT 0 1");
      }
      client.send(wire.query("COMMIT"));
      const out = await client.untilReady();
      expect(out.find((m) => m.type === "C")?.text).toBe("COMMIT");
      // The COMMIT waited for everything recorded before it: the three writes' events are committed.
      const inserts = (await committedStatements("txn-writes")).filter((e) =>
        String(e.text).startsWith("INSERT"),
      );
      expect(inserts.map((e) => e.tag)).toEqual(["INSERT 0 1", "INSERT 0 1", "INSERT 0 1"]);
      expect(db.sql("SELECT count(*) FROM entries WHERE note = 'txn'", "ledger").trim()).toBe("3");
    } finally {
      client.quit();
    }
  });

  test("reads are buffered: their events arrive within the flush interval", async () => {
    const agent = await gw.token("agent-7", ["agents"]);
    const client = await wire.session(gw.port, agent, "buffered-reads");
    try {
      client.send(wire.query("SELECT count(*) FROM entries"));
      const out = await client.untilReady();
      expect(out.map((m) => m.type)).toEqual(["T", "D", "C", "Z"]);
      const events = await eventually(async () => {
        const e = await committedStatements("buffered-reads");
        return e.length ? e : undefined;
      }, 2000);
      expect(events[0]).toMatchObject({ action: "allow", record: "buffered", tag: "SELECT 1" });
    } finally {
      client.quit();
    }
  });
});
