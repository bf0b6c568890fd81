// WebSocket through the gateway, judged on both ends: each client message is decided before it is
// forwarded (the upstream reports what it received), and every server message a masked client receives
// is masked (fixture values counted in every message) or, when it cannot be masked, ends the socket.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { FIXTURE, HARMLESS, leaks, startWsUpstream, type WsUpstream } from "./reflect-upstream.ts";
import { type HttpTestGateway, startHttpGateway } from "./support.ts";

let issuer: OidcIssuer;
let up: WsUpstream;
let gw: HttpTestGateway;
let agent: string;
let human: string;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  up = startWsUpstream();
  gw = await startHttpGateway({
    issuer,
    connections: [
      { type: "http", name: "live", target: `http://127.0.0.1:${up.port}`, allow_groups: ["agents", "dba"] },
    ],
  });
  agent = await gw.token("agent-ws", ["agents"]);
  human = await gw.token("dave", ["dba"]);
});

afterAll(async () => {
  await gw?.stop();
  up?.server.stop(true);
  await issuer?.stop();
});

interface Session {
  messages: string[];
  closed: Promise<{ code: number; reason: string }>;
  send(m: string): void;
  waitFor(n: number): Promise<void>;
  close(): void;
}

async function open(token: string): Promise<Session> {
  const ws = new WebSocket(`ws://127.0.0.1:${gw.gw.httpPort}/c/live/socket`, {
    headers: { authorization: `Bearer ${token}` },
  } as unknown as string[]);
  ws.binaryType = "arraybuffer";
  const messages: string[] = [];
  const closed = new Promise<{ code: number; reason: string }>((r) => {
    ws.onclose = (ev) => r({ code: ev.code, reason: ev.reason });
  });
  ws.onmessage = (ev) => {
    messages.push(
      typeof ev.data === "string" ? ev.data : Buffer.from(ev.data as ArrayBuffer).toString("latin1"),
    );
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("websocket failed"));
  });
  return {
    messages,
    closed,
    send: (m) => ws.send(m),
    async waitFor(n) {
      for (let i = 0; i < 200 && messages.length < n; i++) await Bun.sleep(10);
    },
    close: () => ws.close(),
  };
}

describe("WebSocket", () => {
  test("a masked client's server messages are masked, JSON by member name and text by detectors", async () => {
    const s = await open(agent);
    await s.waitFor(2);
    expect(s.messages).toHaveLength(2);
    expect(leaks(s.messages.join("\n"))).toEqual({});
    const first = JSON.parse(s.messages[0]!) as Record<string, unknown>;
    expect(first.socialSecurityNumber).toBe("***-**-6789");
    expect(first.order_id).toBe(HARMLESS.orderId);
    s.close();
  });

  test("an agent's reading message is decided, forwarded and its echo masked", async () => {
    up.received.length = 0;
    const s = await open(agent);
    await s.waitFor(2);
    s.send(JSON.stringify({ subscribe: "prices", note: `ssn ${FIXTURE.ssn}` }));
    await s.waitFor(3);
    expect(up.received).toHaveLength(1);
    expect(s.messages[2]).toStartWith("echo:");
    expect(leaks(s.messages.join("\n"))).toEqual({});
    s.close();
  });

  test.each([
    [JSON.stringify({ action: "delete", id: 1 })],
    [JSON.stringify({ jsonrpc: "2.0", method: "accounts.transfer", params: [1, 2] })],
    [JSON.stringify({ type: "start", payload: { query: "mutation { deleteAll }" } })],
    ["DELETE FROM accounts"],
  ])(
    "an agent's writing or opaque message %p ends the socket and never reaches the upstream",
    async (msg) => {
      up.received.length = 0;
      const s = await open(agent);
      await s.waitFor(2);
      s.send(msg);
      const closed = await s.closed;
      expect(closed.code).toBe(1008);
      expect(up.received).toHaveLength(0);
    },
  );

  test("messages are decided in order: nothing sent after a refused one is forwarded", async () => {
    up.received.length = 0;
    const s = await open(agent);
    await s.waitFor(2);
    s.send(JSON.stringify({ subscribe: "a" }));
    s.send(JSON.stringify({ action: "delete" }));
    s.send(JSON.stringify({ subscribe: "b" }));
    expect((await s.closed).code).toBe(1008);
    await Bun.sleep(50);
    expect(up.received).toEqual([JSON.stringify({ subscribe: "a" })]);
  });

  test("a binary server message cannot be masked: the agent's socket ends", async () => {
    const s = await open(agent);
    await s.waitFor(2);
    s.send(JSON.stringify({ subscribe: "binary" }));
    expect((await s.closed).code).toBe(1008);
    expect(leaks(s.messages.join("\n"))).toEqual({});
  });

  test("a human sees messages whole and may send any", async () => {
    up.received.length = 0;
    const s = await open(human);
    await s.waitFor(2);
    expect(s.messages[0]).toContain(FIXTURE.ssn);
    s.send("DELETE FROM accounts");
    s.send("binary");
    await s.waitFor(4);
    expect(up.received).toEqual(["DELETE FROM accounts", "binary"]);
    expect(s.messages[3]).toContain(FIXTURE.ssn);
    s.close();
  });

  test("every message decision is in the audit store", async () => {
    await gw.gw.recorder.durable();
    const store = gw.storeBytes();
    expect(store.includes(Buffer.from("custos.http_agent_ws_write"))).toBe(true);
    expect(store.includes(Buffer.from("custos.http_agent_ws_opaque"))).toBe(true);
  });
});
