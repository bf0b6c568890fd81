// The HTTP gateway end to end: a real upstream on loopback, real tokens from the test issuer, the default
// policy pack, and the real audit store, which is scanned at the end for secrets.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import type { Server } from "bun";
import { freePort } from "../support/free-port.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type HttpTestGateway, startHttpGateway } from "./support.ts";

const KEY = "svc-api-key-7f3a9c";
const SVC_TOKEN = "svc-bearer-token-51be";
const SVC_PW = "svc-basic-pw-c0ffee";

interface Seen {
  method: string;
  path: string;
  search: string;
  headers: Record<string, string>;
}

let issuer: OidcIssuer;
let upstream: Server<undefined>;
let gw: HttpTestGateway;
const seen: Seen[] = [];
const clientTokens: string[] = [];
let human: string;
let agent: string;

const customers = {
  customers: [
    { id: 1, name: "Ada", ssn: "123-45-6789", email: "ada@example.com", note: "card 4111 1111 1111 1111" },
    { id: 2, name: "Bob", ssn: "987-65-4321", email: "bob@example.com", note: "none" },
  ],
};

function startUpstream(port: number) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port,
    idleTimeout: 30,
    async fetch(req, server) {
      const url = new URL(req.url);
      seen.push({
        method: req.method,
        path: url.pathname,
        search: url.search,
        headers: Object.fromEntries(req.headers),
      });
      switch (url.pathname) {
        case "/ws":
          return server.upgrade(req) ? undefined : new Response("no upgrade", { status: 400 });
        case "/customers":
          return Response.json(customers);
        case "/sink": {
          let n = 0;
          for await (const chunk of req.body!) n += (chunk as Uint8Array).length;
          return Response.json({ received: n });
        }
        case "/stream": {
          const total = Number(url.searchParams.get("bytes"));
          const chunk = new Uint8Array(64 << 10).fill(120);
          let sent = 0;
          return new Response(
            new ReadableStream({
              pull(c) {
                if (sent >= total) return c.close();
                c.enqueue(chunk);
                sent += chunk.length;
              },
            }),
            { headers: { "content-type": "application/octet-stream" } },
          );
        }
        case "/sse": {
          let i = 0;
          return new Response(
            new ReadableStream({
              async pull(c) {
                if (i === 3) return c.close();
                await Bun.sleep(30);
                c.enqueue(new TextEncoder().encode(`event: tick\ndata: {"n":${i++}}\n\n`));
              },
            }),
            { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } },
          );
        }
        case "/slow":
          await Bun.sleep(2000);
          return new Response("late");
        case "/redirect":
          return new Response(null, {
            status: 302,
            headers: { location: `http://127.0.0.1:${port}/customers` },
          });
        default:
          return Response.json({ ok: true, path: url.pathname });
      }
    },
    websocket: {
      message(ws, msg) {
        ws.send(`echo:${msg}`);
      },
    },
  });
}

beforeAll(async () => {
  issuer = await startOidcIssuer();
  const upPort = await freePort();
  upstream = startUpstream(upPort);
  const target = `http://127.0.0.1:${upPort}`;
  const common = { type: "http", target, allow_groups: ["agents", "dba"], timeout: "1s" };
  gw = await startHttpGateway({
    issuer,
    env: { BILLING_KEY: KEY, SVC_TOKEN, SVC_PW },
    connections: [
      { ...common, name: "billing", inject: { header: "X-Api-Key", value_env: "BILLING_KEY" } },
      { ...common, name: "bearer", inject: { bearer_env: "SVC_TOKEN" } },
      { ...common, name: "basic", inject: { basic: { user: "svc", password_env: "SVC_PW" } } },
      { ...common, name: "query", inject: { query: "api_key", value_env: "BILLING_KEY" } },
      { ...common, name: "down", target: `http://127.0.0.1:${await freePort()}` },
      { ...common, name: "ops", allow_groups: ["ops"] },
    ],
  });
  human = await gw.token("alice", ["dba"]);
  agent = await gw.token("agent-7", ["agents"]);
  clientTokens.push(human, agent);
});

afterAll(async () => {
  await gw?.stop();
  upstream?.stop(true);
  await issuer?.stop();
});

const call = (path: string, token: string | null, init: RequestInit = {}) =>
  fetch(`${gw.base}${path}`, {
    ...init,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(init.headers as Record<string, string>),
    },
  });

async function problem(res: Response) {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return (await res.json()) as { type: string; title: string; status: number; code: string; rule?: string };
}

describe("HTTP gateway", () => {
  test("injects each credential kind, never forwards the client's token", async () => {
    seen.length = 0;
    expect((await call("/c/billing/echo?x=1", human)).status).toBe(200);
    expect((await call("/c/bearer/echo", human)).status).toBe(200);
    expect((await call("/c/basic/echo", human)).status).toBe(200);
    expect((await call("/c/query/echo?api_key=forged&API_KEY=forged2&y=2", human)).status).toBe(200);
    const [billing, bearer, basic, query] = seen;
    expect(billing!.headers["x-api-key"]).toBe(KEY);
    expect(billing!.headers.authorization).toBeUndefined();
    expect(billing!.search).toBe("?x=1");
    expect(bearer!.headers.authorization).toBe(`Bearer ${SVC_TOKEN}`);
    expect(basic!.headers.authorization).toBe(`Basic ${Buffer.from(`svc:${SVC_PW}`).toString("base64")}`);
    expect(query!.search).toBe(`?y=2&api_key=${KEY}`);
    for (const s of seen) {
      expect(s.headers["proxy-authorization"]).toBeUndefined();
      expect(JSON.stringify(s)).not.toContain(human);
      expect(s.headers.via).toContain("custos");
    }
  });

  test("Proxy-Authorization works and is not forwarded either; hop-by-hop headers are dropped", async () => {
    seen.length = 0;
    const res = await fetch(`${gw.base}/c/billing/echo`, {
      headers: { "proxy-authorization": `Bearer ${human}`, connection: "x-hop", "x-hop": "1", "x-keep": "2" },
    });
    expect(res.status).toBe(200);
    expect(seen[0]!.headers["proxy-authorization"]).toBeUndefined();
    expect(seen[0]!.headers["x-hop"]).toBeUndefined();
    // Not on the allow-list, so not forwarded either (the connection's forward_headers would add it).
    expect(seen[0]!.headers["x-keep"]).toBeUndefined();
  });

  test("identity and access failures are problem responses", async () => {
    const none = await call("/c/billing/echo", null);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect((await problem(none)).code).toBe("identity.missing");
    expect((await problem(await call("/c/billing/echo", "not-a-jwt"))).status).toBe(401);
    const basicAuth = await fetch(`${gw.base}/c/billing/echo`, { headers: { authorization: "Basic eDp5" } });
    expect((await problem(basicAuth)).code).toBe("identity.malformed");
    expect((await problem(await call("/c/nope/echo", human))).status).toBe(404);
    const forbidden = await problem(await call("/c/ops/echo", human));
    expect([forbidden.status, forbidden.code]).toEqual([403, "access.forbidden"]);
  });

  test("deny and review end to end, naming the rule", async () => {
    const denied = await call("/c/billing/admin/users", agent);
    expect(denied.status).toBe(403);
    const d = await problem(denied);
    expect(d.rule).toBe("custos.http_denied_path");
    expect(d.code).toBe("policy.denied");
    seen.length = 0;
    const review = await problem(
      await call("/c/billing/invoices", agent, {
        method: "POST",
        body: "{}",
        headers: { "content-type": "application/json" },
      }),
    );
    expect([review.status, review.title, review.rule]).toEqual([
      403,
      "approval required",
      "custos.http_agent_write",
    ]);
    expect(seen).toHaveLength(0);
    // A human's write goes through.
    const ok = await call("/c/billing/invoices", human, {
      method: "POST",
      body: '{"amount":5}',
      headers: { "content-type": "application/json" },
    });
    expect(ok.status).toBe(200);
  });

  test("agents' JSON responses are masked; humans see them whole", async () => {
    const masked = await (await call("/c/billing/customers", agent)).text();
    expect(masked).not.toContain("123-45-6789");
    expect(masked).not.toContain("ada@example.com");
    const parsed = JSON.parse(masked) as typeof customers;
    expect(parsed.customers[0]!.ssn).toBe("***-**-6789");
    expect(parsed.customers[0]!.name).toBe("Ada");
    const whole = (await (await call("/c/billing/customers", human)).json()) as typeof customers;
    expect(whole.customers[0]!.ssn).toBe("123-45-6789");
  });

  test("redirects to the upstream are rewritten to the gateway", async () => {
    const res = await call("/c/billing/redirect", human, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/c/billing/customers");
  });

  test("upstream down is a 502 problem, a slow upstream a 504", async () => {
    const down = await call("/c/down/x", human);
    expect(down.status).toBe(502);
    expect((await problem(down)).code).toBe("upstream.unreachable");
    const slow = await call("/c/billing/slow", human);
    expect(slow.status).toBe(504);
    expect((await problem(slow)).code).toBe("upstream.timeout");
  });

  test("Server-Sent Events arrive as they are sent", async () => {
    const res = await call("/c/billing/sse", human, { headers: { accept: "text/event-stream" } });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('data: {"n":0}');
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain('data: {"n":2}');
  });

  test("WebSocket relayed both ways, with the credential injected", async () => {
    seen.length = 0;
    const ws = new WebSocket(`ws://127.0.0.1:${gw.gw.httpPort}/c/billing/ws`, {
      headers: { authorization: `Bearer ${human}` },
    } as unknown as string[]);
    const got = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send("hello");
      ws.onmessage = (ev) => resolve(String(ev.data));
      ws.onerror = () => reject(new Error("websocket failed"));
    });
    expect(got).toBe("echo:hello");
    ws.close();
    expect(seen[0]!.headers["x-api-key"]).toBe(KEY);
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  test("a 100 MB upload and a 100 MB download stream with flat memory", async () => {
    const total = 100 << 20;
    Bun.gc(true);
    const before = process.memoryUsage.rss();
    const chunk = new Uint8Array(256 << 10).fill(97);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= total) return c.close();
        c.enqueue(chunk);
        sent += chunk.length;
      },
    });
    const up = await call("/c/billing/sink", human, {
      method: "POST",
      body,
      headers: { "content-type": "application/octet-stream" },
    });
    expect(await up.json()).toEqual({ received: total });
    const down = await call(`/c/billing/stream?bytes=${total}`, human);
    let n = 0;
    for await (const c of down.body!) n += (c as Uint8Array).length;
    expect(n).toBe(total);
    Bun.gc(true);
    const growth = process.memoryUsage.rss() - before;
    console.log(`rss growth over 2 x 100 MB: ${(growth / 2 ** 20).toFixed(1)} MiB`);
    // Buffering either body whole would add at least its 100 MiB; streaming adds 7-18 MiB alone, more when
    // other suites share the process's heap growth, so the bound sits between the two.
    expect(growth).toBeLessThan(90 << 20);
  }, 60_000);

  test("malformed requests are answered cleanly while others continue", async () => {
    const raw = (text: string) =>
      new Promise<string>((resolve) => {
        const sock = connect(gw.gw.httpPort, "127.0.0.1");
        let out = "";
        sock.on("data", (d) => {
          out += d.toString("latin1");
        });
        sock.on("close", () => resolve(out));
        sock.on("error", () => resolve(out));
        sock.write(text);
        setTimeout(() => sock.destroy(), 1500);
      });
    const slowOk = call("/c/billing/echo", human);
    const badHeader = await raw("GET /c/billing/echo HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n");
    expect(badHeader).toMatch(/^HTTP\/1\.1 4\d\d/);
    const huge = await raw(
      `GET /c/billing/echo HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(200_000)}\r\n\r\n`,
    );
    expect(huge).toMatch(/^HTTP\/1\.1 4\d\d/);
    const badChunk = await raw(
      `POST /c/billing/sink HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${human}\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n0\r\n\r\n`,
    );
    expect(badChunk).toMatch(/^HTTP\/1\.1 (4\d\d|5\d\d)/);
    expect(badChunk).not.toContain("received");
    expect((await slowOk).status).toBe(200);
    expect((await call("/c/billing/echo", human)).status).toBe(200);
  });

  test("tokens and injected secrets never reach the audit store or the logs", async () => {
    await gw.gw.recorder.durable();
    const store = gw.storeBytes();
    const logs = gw.logs.join("\n");
    expect(store.length).toBeGreaterThan(0);
    for (const secret of [
      ...clientTokens,
      KEY,
      SVC_TOKEN,
      SVC_PW,
      Buffer.from(`svc:${SVC_PW}`).toString("base64"),
    ]) {
      expect(store.includes(Buffer.from(secret))).toBe(false);
      expect(logs.includes(secret)).toBe(false);
    }
    // The requests were recorded, as statement events, with their status.
    expect(store.includes(Buffer.from("GET /customers"))).toBe(true);
  });
});
