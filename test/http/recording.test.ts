// What the HTTP gateway records for each exchange, read back from the real audit store: the request and
// response frames (headers without secrets, bodies capped) and one statement event with status, byte counts
// and how the body ended. Covers both response paths: a small body of declared length (read whole) and a
// streamed one (no length, or larger than the whole-read bound), and an upstream that breaks mid-body.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server as NetServer } from "node:net";
import type { Server } from "bun";
import { openStore } from "../../src/audit/store.ts";
import type { Frame } from "../../src/core/frame.ts";
import { freePort } from "../support/free-port.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type HttpTestGateway, startHttpGateway } from "./support.ts";

const KEY = "svc-api-key-rec-9d1e";
const BIG = 200 << 10;

let issuer: OidcIssuer;
let upstream: Server<undefined>;
let broken: NetServer;
let gw: HttpTestGateway;
let token: string;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  upstream = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/small")
        return Response.json({ id: 42, note: "small" }, { headers: { "set-cookie": "s=1" } });
      if (path === "/sink")
        return req.bytes().then((b) =>
          Response.json({
            received: b.length,
            type: req.headers.get("content-type"),
            text: new TextDecoder().decode(b),
          }),
        );
      if (path === "/big") return new Response(new Uint8Array(BIG).fill(98));
      if (path === "/chunked") {
        let n = 0;
        return new Response(
          new ReadableStream({
            pull(c) {
              if (n++ === 3) return c.close();
              c.enqueue(new TextEncoder().encode(`part${n};`));
            },
          }),
        );
      }
      return new Response(null, { status: 204 });
    },
  });
  // /x declares 100 bytes, sends 10 and closes; /stall sends 10 and then nothing until the client gives up.
  broken = createServer((sock) => {
    sock.once("data", (d) => {
      const head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n0123456789";
      if (d.toString("latin1").startsWith("GET /stall")) sock.write(head);
      else sock.end(head);
    });
    sock.on("error", () => {});
  });
  const brokenPort = await freePort();
  await new Promise<void>((r) => broken.listen(brokenPort, "127.0.0.1", r));
  const common = { type: "http", allow_groups: ["dba"], timeout: "2s", limits: { record_body: 16 } };
  gw = await startHttpGateway({
    issuer,
    env: { REC_KEY: KEY },
    connections: [
      {
        ...common,
        name: "rec",
        target: `http://127.0.0.1:${upstream.port}`,
        inject: { header: "X-Api-Key", value_env: "REC_KEY" },
      },
      { ...common, name: "broken", target: `http://127.0.0.1:${brokenPort}` },
    ],
  });
  token = await gw.token("rec-user", ["dba"]);
});

afterAll(async () => {
  await gw?.stop();
  upstream?.stop(true);
  broken?.close();
  await issuer?.stop();
});

const get = (path: string) =>
  fetch(`${gw.base}${path}`, { headers: { authorization: `Bearer ${token}`, "x-trace": "t1" } });

/** Every statement event and frame the store holds for sessions on `connection`. */
async function recorded(connection: string) {
  await gw.gw.recorder.durable();
  const store = await openStore(`sqlite:${gw.dataDir}/audit.db`);
  try {
    const events: Record<string, unknown>[] = [];
    const frames: Frame[] = [];
    for (const s of await store.listSessions({ limit: 100 })) {
      const evs = await store.sessionEvents(s.id);
      if (!evs.some((e) => e.type === "session.start" && e.data.connection === connection)) continue;
      for (const e of evs) if (e.type === "statement") events.push(e.data);
      frames.push(...(await store.sessionFrames(s.id)));
    }
    return { events, frames };
  } finally {
    await store.close();
  }
}

const text = (b: unknown) => new TextDecoder().decode(b as Uint8Array);

describe("HTTP recording", () => {
  test("small, large and chunked bodies arrive whole and are recorded capped, with byte counts", async () => {
    const small = await get("/c/rec/small");
    expect(small.status).toBe(200);
    expect(small.headers.get("content-type")).toContain("application/json");
    expect(await small.json()).toEqual({ id: 42, note: "small" });
    const big = await get("/c/rec/big");
    expect((await big.bytes()).length).toBe(BIG);
    const chunked = await get("/c/rec/chunked");
    expect(await chunked.text()).toBe("part1;part2;part3;");
    const empty = await get("/c/rec/nothing");
    expect(empty.status).toBe(204);

    const { events, frames } = await recorded("rec");
    const byText = (t: string) => events.find((e) => e.text === t)!;
    expect(byText("GET /small")).toMatchObject({
      status: 200,
      bytes_out: 24,
      end: "complete",
      action: "allow",
    });
    expect(byText("GET /big")).toMatchObject({ status: 200, bytes_out: BIG, end: "complete" });
    expect(byText("GET /chunked")).toMatchObject({ status: 200, bytes_out: 18, end: "complete" });
    expect(byText("GET /nothing")).toMatchObject({ status: 204, bytes_out: 0 });

    const responses = frames.filter((f) => f.kind === "response");
    const requests = frames.filter((f) => f.kind === "request");
    expect(requests.map((f) => f.data!.path)).toEqual(["/small", "/big", "/chunked", "/nothing"]);
    for (const r of requests) {
      const h = r.data!.headers as Record<string, string>;
      expect(h.authorization).toBe("[redacted]");
      expect(h["x-trace"]).toBe("t1");
    }
    const [sr, br, cr] = responses;
    // Capped at record_body (16 bytes), counted in full.
    expect(text(sr!.data!.body)).toBe('{"id":42,"note":');
    expect(sr!.data).toMatchObject({ status: 200, body_bytes: 24, end: "complete" });
    expect((sr!.data!.headers as Record<string, string>)["set-cookie"]).toBe("[redacted]");
    expect((br!.data!.body as Uint8Array).length).toBe(16);
    expect(br!.data).toMatchObject({ body_bytes: BIG, end: "complete" });
    expect(text(cr!.data!.body)).toBe("part1;part2;part");
    expect(cr!.data).toMatchObject({ body_bytes: 18, end: "complete" });

    const store = gw.storeBytes();
    expect(store.includes(Buffer.from(token))).toBe(false);
    expect(store.includes(Buffer.from(KEY))).toBe(false);
  });

  test("small request bodies reach the upstream whole; JSON ones are recorded capped, all are counted", async () => {
    const post = (type: string, body: string) =>
      fetch(`${gw.base}/c/rec/sink`, {
        method: "POST",
        body,
        headers: { authorization: `Bearer ${token}`, "content-type": type },
      });
    const json = JSON.stringify({ amount: 5, note: "a json body longer than the cap" });
    expect(await (await post("application/json", json)).json()).toEqual({
      received: json.length,
      type: "application/json",
      text: json,
    });
    expect(await (await post("text/plain", "plain text body")).json()).toMatchObject({
      received: 15,
      text: "plain text body",
    });
    const { events, frames } = await recorded("rec");
    const posts = events.filter((e) => e.text === "POST /sink");
    expect(posts.map((e) => e.bytes_in)).toEqual([json.length, 15]);
    // The response's facts and the exchange's own, in one event: status, the body's bytes, the upstream's time.
    for (const e of posts) {
      expect(e).toMatchObject({ status: 200, end: "complete", tag: "200" });
      expect(e.bytes_out).toBeGreaterThan(0);
      expect(e.upstream_us).toBeGreaterThanOrEqual(0);
    }
    // Writes wait for durability before they are forwarded.
    expect(posts.map((e) => e.record)).toEqual(["sync", "sync"]);
    const sent = frames.filter((f) => f.kind === "request" && f.data!.path === "/sink");
    expect(text(sent[0]!.data!.body)).toBe(json.slice(0, 16));
    expect(sent[1]!.data!.body).toBeUndefined();
  });

  test("a body that breaks before its declared length is a 502 problem, recorded as an error", async () => {
    const res = await get("/c/broken/x");
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(((await res.json()) as { code: string }).code).toBe("upstream.protocol");
    const { events, frames } = await recorded("broken");
    expect(events.find((e) => e.text === "GET /x")).toMatchObject({
      status: 502,
      end: "error",
      error: "upstream_body",
    });
    expect(frames.find((f) => f.kind === "response")!.data).toMatchObject({ status: 200, end: "error" });
    // The gateway goes on serving.
    expect((await get("/c/rec/small")).status).toBe(200);
  });

  test("a client that gives up while the body is read is recorded as cancelled, and nothing is logged as failed", async () => {
    const gone = fetch(`${gw.base}/c/broken/stall`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(300),
    });
    await expect(gone).rejects.toThrow();
    await Bun.sleep(200);
    const { events } = await recorded("broken");
    expect(events.find((e) => e.text === "GET /stall")).toMatchObject({ status: 499, end: "cancelled" });
    expect(gw.logs.join("\n")).not.toContain("http exchange failed");
    expect((await get("/c/rec/small")).status).toBe(200);
  });
});
