// Hostile and broken bytes on the PostgreSQL listener, sent by hand through a raw socket. Each must get the
// right error in PostgreSQL's terms (or a silent close where PostgreSQL itself would be silent), the gateway
// must keep serving, and a session running beside it must not notice.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { openStore } from "../../src/audit/store.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import { waitForEvent } from "../support/audit-read.ts";
import { type BusySession, startBusySession } from "../support/busy-session.ts";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import {
  cancelRequest,
  cstrings,
  login,
  password,
  query,
  RawClient,
  readInt32,
  sslRequest,
  startup,
  typed,
  untyped,
} from "../support/raw-client.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let busy: BusySession;
let seq = 0;

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  gw = await startTestGateway({ pg: db, issuer });
  busy = await startBusySession(gw);
}, 60_000);

afterAll(async () => {
  try {
    await busy?.finish();
    // The whole log still verifies after every kind of abuse.
    await gw.gw.recorder.durable();
    const store = await openStore(`sqlite:${gw.dataDir}/audit.db`);
    try {
      const report = await verifyLog(store);
      expect(report.ok).toBe(true);
    } finally {
      await store.close();
    }
  } finally {
    await gw?.stop();
    await Promise.all([db?.stop(), issuer?.stop()]);
  }
}, 30_000);

// After every abuse: the side session kept working and a new client still gets a working session.
afterEach(async () => {
  await busy.progressed();
  const { client } = await login(gw.port, await gw.token("probe@bank.example"));
  const rows = await client.simpleQuery("select 41 + 1");
  expect(rows.find((m) => m.type === "D")).toBeDefined();
  expect(client.errors()).toEqual([]);
  client.close();
}, 15_000);

/** Waits for the gateway to close the connection; returns the one FATAL error it sent. */
async function fatal(client: RawClient): Promise<Record<string, string>> {
  await client.waitClosed();
  const errors = client.errors();
  expect(errors.length).toBe(1);
  expect(errors[0]!.S).toBe("FATAL");
  return errors[0]!;
}

/** A fresh subject per test, so its session's events can be found. */
async function freshLogin() {
  const subject = `bad-${++seq}@bank.example`;
  const session = await login(gw.port, await gw.token(subject));
  const start = await waitForEvent(gw, (e) => e.type === "session.start" && e.data.subject === subject);
  const ended = () => waitForEvent(gw, (e) => e.type === "session.end" && e.sessionId === start.sessionId);
  return { ...session, subject, sessionId: start.sessionId!, ended };
}

const int32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
};

describe("before startup", () => {
  // Like PostgreSQL (ProcessStartupPacket reports an invalid length as COMMERROR): closed without a
  // reply, which node-postgres's connect(); end() (a Terminate before the start-up packet) relies on.
  const closedSilently = async (c: RawClient) => {
    await c.waitClosed();
    expect(c.receivedBytes).toBe(0);
  };

  test("random bytes: closed without a reply, recorded as auth.failure", async () => {
    const c = await RawClient.connect(gw.port);
    const garbage = randomBytes(64);
    garbage[0] = 0xde; // a negative length field whatever the rest says
    c.send(garbage);
    await closedSilently(c);
    await waitForEvent(
      gw,
      (ev) =>
        ev.type === "auth.failure" &&
        ev.data.code === "protocol.malformed" &&
        String(ev.data.message).includes("invalid startup packet length"),
    );
  });

  test("an HTTP request line: closed without a reply", async () => {
    const c = await RawClient.connect(gw.port);
    c.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    await closedSilently(c);
  });

  test("a Terminate before the start-up packet (node-postgres connect(); end()): closed without a reply", async () => {
    const c = await RawClient.connect(gw.port);
    c.send(Buffer.concat([Uint8Array.of(0x58, 0, 0, 0, 4), startup({ user: "agent", database: "ledger" })]));
    await closedSilently(c);
  });

  test("a truncated startup packet then close: nothing opened, nothing sent", async () => {
    const c = await RawClient.connect(gw.port);
    c.send(startup({ user: "agent", database: "ledger" }).subarray(0, 11));
    await Bun.sleep(50);
    c.close();
    await c.waitClosed();
    expect(c.receivedBytes).toBe(0);
  });

  test("a startup length of 2 GB: refused at once, no allocation", async () => {
    const c = await RawClient.connect(gw.port);
    const before = process.memoryUsage().rss;
    c.send(untyped(int32(3 << 16), 0x7fffffff));
    await closedSilently(c);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 << 20);
  });

  test("a startup length of 3: closed without a reply", async () => {
    const c = await RawClient.connect(gw.port);
    c.send(Uint8Array.of(0, 0, 0, 3, 0, 3, 0, 0));
    await closedSilently(c);
  });

  test("protocol 2.0: FATAL 0A000 naming the version", async () => {
    const c = await RawClient.connect(gw.port);
    c.send(startup({ user: "agent", database: "ledger" }, 2, 0));
    const e = await fatal(c);
    expect(e.C).toBe("0A000");
    expect(e.M).toContain("2.0");
  });

  test("protocol 3.1 with _pq_ options: NegotiateProtocolVersion 3.0, then normal authentication", async () => {
    const c = await RawClient.connect(gw.port);
    c.send(startup({ user: "agent", database: "ledger", "_pq_.x": "on" }, 3, 1));
    const v = await c.waitFor("v");
    // The newest version supported, major and minor: 3.0 = 196608 (libpq 18 aborts on anything below 3.0).
    expect(readInt32(v.body, 0)).toBe(196608);
    expect(readInt32(v.body, 4)).toBe(1);
    expect(cstrings(v.body.subarray(8))).toEqual(["_pq_.x"]);
    await c.waitFor("R");
    c.send(password(await gw.token("pq@bank.example")));
    await c.waitFor("Z");
    const rows = await c.simpleQuery("select 1");
    expect(rows.map((m) => m.type)).toEqual(["T", "D", "C", "Z"]);
    c.close();
  });

  test("protocol 3.1 without options: NegotiateProtocolVersion 3.0 with no options", async () => {
    const c = await RawClient.connect(gw.port);
    c.send(startup({ user: "agent", database: "ledger" }, 3, 1));
    const v = await c.waitFor("v");
    expect(readInt32(v.body, 0)).toBe(196608);
    expect(readInt32(v.body, 4)).toBe(0);
    await c.waitFor("R");
    c.close();
  });

  test("SSLRequest followed by bytes before the handshake: refused (CVE-2021-23222)", async () => {
    const c = await RawClient.connect(gw.port);
    c.send(Buffer.concat([sslRequest(), startup({ user: "agent", database: "ledger" })]));
    const e = await fatal(c);
    expect(e.C).toBe("08P01");
    expect(e.M).toContain("SSLRequest");
  });

  test("a message other than a password after the password request: FATAL 08P01, auth.failure", async () => {
    const c = await RawClient.connect(gw.port);
    c.send(startup({ user: "agent", database: "ledger" }));
    await c.waitFor("R");
    c.send(query("select 1"));
    const e = await fatal(c);
    expect(e.C).toBe("08P01");
    expect(e.M).toContain("password");
    await waitForEvent(
      gw,
      (ev) => ev.type === "auth.failure" && String(ev.data.message).includes("expected a password message"),
    );
  });

  test("a password message with a 2 GB length: FATAL, closed", async () => {
    const c = await RawClient.connect(gw.port);
    c.send(startup({ user: "agent", database: "ledger" }));
    await c.waitFor("R");
    c.send(typed("p", "", 0x7fffffff));
    expect((await fatal(c)).C).toBe("54000");
  });
});

describe("after authentication", () => {
  test("a message length of 2 GB: FATAL 54000, closed, session.end recorded", async () => {
    const s = await freshLogin();
    s.client.send(typed("Q", "", 0x7fffffff));
    const e = await fatal(s.client);
    expect(e.C).toBe("54000");
    expect((await s.ended()).data.reason).toBe("protocol.too_large");
  });

  test("a message length below 4: FATAL 08P01, closed, session.end recorded", async () => {
    const s = await freshLogin();
    s.client.send(typed("Q", "", 2));
    expect((await fatal(s.client)).C).toBe("08P01");
    expect((await s.ended()).data.reason).toBe("protocol.malformed");
  });

  test("an unknown message type: FATAL 08P01, closed, session.end recorded", async () => {
    const s = await freshLogin();
    s.client.send(typed("y", "whatever\0"));
    const e = await fatal(s.client);
    expect(e.C).toBe("08P01");
    expect(e.M).toContain("'y'");
    expect((await s.ended()).data.reason).toMatch(/^protocol/);
  });

  test("a malformed body (Bind with a parameter longer than the message): FATAL 08P01", async () => {
    const s = await freshLogin();
    // portal "", statement "", 0 formats, 1 parameter claiming 1000 bytes, then nothing.
    s.client.send(typed("B", Buffer.concat([Uint8Array.of(0, 0, 0, 0, 0, 1), int32(1000)])));
    expect((await fatal(s.client)).C).toBe("08P01");
    expect((await s.ended()).data.reason).toMatch(/^protocol/);
  });

  test("a truncated message then close: session.end recorded with reason client", async () => {
    const s = await freshLogin();
    const q = query("select 1");
    s.client.send(q.subarray(0, q.length - 3));
    await Bun.sleep(30);
    s.client.close();
    expect((await s.ended()).data.reason).toBe("client");
  });

  test("a statement is recorded before a bad message ends the session", async () => {
    const s = await freshLogin();
    await s.client.simpleQuery("select 'kept' as v");
    s.client.send(typed("y", ""));
    await fatal(s.client);
    await s.ended();
    await waitForEvent(
      gw,
      (e) => e.type === "statement" && e.sessionId === s.sessionId && e.data.text === "select 'kept' as v",
    );
  });
});

describe("CancelRequest", () => {
  test("a wrong key cancels nothing and gets no answer; the right key does cancel", async () => {
    const s = await freshLogin();
    const from = s.client.messages.length;
    s.client.send(query("select pg_sleep(0.5)"));
    await Bun.sleep(100);
    for (const [pid, secret] of [
      [s.pid, s.secret ^ 1],
      [s.pid ^ 1, s.secret],
      [0, 0],
    ] as const) {
      const c = await RawClient.connect(gw.port);
      c.send(cancelRequest(pid, secret));
      await c.waitClosed();
      expect(c.receivedBytes).toBe(0);
    }
    await s.client.waitFor("Z", 5000, from);
    const reply = s.client.messages.slice(from);
    expect(reply.map((m) => m.type)).toEqual(["T", "D", "C", "Z"]);

    // Control: the minted key does cancel, so the test above could have failed.
    const from2 = s.client.messages.length;
    s.client.send(query("select pg_sleep(5)"));
    await Bun.sleep(100);
    const c = await RawClient.connect(gw.port);
    c.send(cancelRequest(s.pid, s.secret));
    await c.waitClosed();
    await s.client.waitFor("Z", 3000, from2);
    expect(s.client.errors().map((e) => e.C)).toEqual(["57014"]);
    s.client.close();
  });

  test("a CancelRequest with a wrong length: closed", async () => {
    const c = await RawClient.connect(gw.port);
    c.send(untyped(Buffer.concat([int32(80877102), int32(1), int32(2), int32(3)])));
    await c.waitClosed();
  });
});
