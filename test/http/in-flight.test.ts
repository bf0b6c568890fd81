// The upstream's deadline and the client's abort, now watched by one sweep (src/protocols/http/in-flight.ts)
// instead of a timer and a listener per request. Judged by effect on the real target: a raw TCP upstream
// that reads the request and never answers sees its socket closed by the gateway, when the deadline passes
// and when the client gives up; the audit store says 504 / 499. Beside them, look-alikes that must pass:
// an upstream answering late but within its deadline, and a client that stays.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import type { Server } from "bun";
import { openStore } from "../../src/audit/store.ts";
import { InFlight } from "../../src/protocols/http/in-flight.ts";
import { freePort } from "../support/free-port.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type HttpTestGateway, startHttpGateway } from "./support.ts";

let issuer: OidcIssuer;
let silent: NetServer;
let late: Server<undefined>;
let gw: HttpTestGateway;
let token: string;

/** Each request the silent upstream received, by path: its socket, and whether the gateway closed it. */
const seen = new Map<string, { socket: Socket; closed: Promise<void> }>();
const arrived = new Map<string, () => void>();
const received = (path: string) =>
  new Promise<void>((resolve) => {
    if (seen.has(path)) resolve();
    else arrived.set(path, resolve);
  });

beforeAll(async () => {
  issuer = await startOidcIssuer();
  // Reads a request, notes its path, and never answers.
  silent = createServer((socket) => {
    const closed = new Promise<void>((r) => socket.on("close", () => r()));
    socket.on("error", () => {});
    socket.once("data", (d) => {
      const path = d.toString("latin1").split(" ")[1] ?? "";
      seen.set(path, { socket, closed });
      arrived.get(path)?.();
    });
  });
  const silentPort = await freePort();
  await new Promise<void>((r) => silent.listen(silentPort, "127.0.0.1", r));
  // Answers after 300 ms: late, but within a 5 s deadline.
  late = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async () => {
      await Bun.sleep(300);
      return Response.json({ ok: true });
    },
  });
  const common = { type: "http", allow_groups: ["dba"] };
  gw = await startHttpGateway({
    issuer,
    connections: [
      { ...common, name: "short", target: `http://127.0.0.1:${silentPort}`, timeout: "400ms" },
      { ...common, name: "patient", target: `http://127.0.0.1:${silentPort}`, timeout: "60s" },
      { ...common, name: "late", target: `http://127.0.0.1:${late.port}`, timeout: "5s" },
    ],
  });
  token = await gw.token("inflight-user", ["dba"]);
});

afterAll(async () => {
  await gw?.stop();
  for (const s of seen.values()) s.socket.destroy();
  silent?.close();
  late?.stop(true);
  await issuer?.stop();
});

const get = (path: string, signal?: AbortSignal) =>
  fetch(`${gw.base}${path}`, { headers: { authorization: `Bearer ${token}` }, signal });

async function statements(connection: string): Promise<Record<string, unknown>[]> {
  await gw.gw.recorder.durable();
  const store = await openStore(`sqlite:${gw.dataDir}/audit.db`);
  try {
    const out: Record<string, unknown>[] = [];
    for (const s of await store.listSessions({ limit: 100 })) {
      const evs = await store.sessionEvents(s.id);
      if (!evs.some((e) => e.type === "session.start" && e.data.connection === connection)) continue;
      for (const e of evs) if (e.type === "statement") out.push(e.data);
    }
    return out;
  } finally {
    await store.close();
  }
}

describe("HTTP requests in flight", () => {
  test("an upstream that never answers is cut at its deadline: 504, and its socket is closed", async () => {
    const t0 = performance.now();
    const res = await get("/c/short/never");
    expect(res.status).toBe(504);
    expect(((await res.json()) as { code: string }).code).toBe("upstream.timeout");
    // Never before the deadline.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(390);
    await seen.get("/never")!.closed;
    const events = await statements("short");
    expect(events.find((e) => e.text === "GET /never")).toMatchObject({
      status: 504,
      error: "upstream.timeout",
    });
  });

  test("a client that gives up before the answer ends the upstream request (the 60 s deadline is not waited for)", async () => {
    const gone = new AbortController();
    const pending = get("/c/patient/abandoned", gone.signal);
    await received("/abandoned");
    gone.abort();
    await expect(pending).rejects.toThrow();
    // The target's socket is closed by the gateway; without the abort it would stay open for 60 s.
    await seen.get("/abandoned")!.closed;
    let events: Record<string, unknown>[] = [];
    for (let i = 0; i < 50 && !events.some((e) => e.text === "GET /abandoned"); i++) {
      await Bun.sleep(50);
      events = await statements("patient");
    }
    expect(events.find((e) => e.text === "GET /abandoned")).toMatchObject({
      status: 499,
      error: "protocol.malformed",
    });
  });

  test("look-alikes pass: a late answer within the deadline, many at once, and a client that stays", async () => {
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => get(`/c/late/n${i}`)));
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(await a.json()).toEqual({ ok: true });
    }
    // A patient client of the silent upstream is not cut short by the others' aborts.
    const stays = new AbortController();
    const pending = get("/c/patient/stays", stays.signal).catch(() => "aborted by the test");
    await received("/stays");
    await Bun.sleep(300);
    expect(seen.get("/stays")!.socket.destroyed).toBe(false);
    stays.abort();
    expect(await pending).toBe("aborted by the test");
  });
});

describe("InFlight (the sweep itself)", () => {
  test("Bun reports a client's abort on req.signal even when it is first read after the abort", async () => {
    const reads: boolean[] = [];
    let arrivedAt: () => void = () => {};
    const arrivedHere = new Promise<void>((r) => {
      arrivedAt = r;
    });
    let abortedAt: () => void = () => {};
    const clientAborted = new Promise<void>((r) => {
      abortedAt = r;
    });
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        arrivedAt();
        // req.signal is first read only after the client has gone (and the server has had time to see it).
        await clientAborted;
        await Bun.sleep(300);
        reads.push(req.signal.aborted);
        return new Response("late");
      },
    });
    try {
      const client = new AbortController();
      const pending = fetch(`http://127.0.0.1:${server.port}/`, { signal: client.signal }).catch(() => {});
      await arrivedHere;
      client.abort();
      await pending;
      abortedAt();
      for (let i = 0; i < 80 && reads.length === 0; i++) await Bun.sleep(25);
      expect(reads).toEqual([true]);
    } finally {
      server.stop(true);
    }
  });

  test("a watch expires, is answered, or is done, and leaves the set every time", async () => {
    const inFlight = new InFlight();
    const req = new Request("http://127.0.0.1/");
    const expires = inFlight.watch(req, 30);
    const answered = inFlight.watch(req, 30);
    answered.answered();
    const done = inFlight.watch(req, 30);
    done.done();
    expect(inFlight.size).toBe(2);
    for (let i = 0; i < 200 && !expires.signal.aborted; i++) await Bun.sleep(25);
    expect(expires.signal.aborted).toBe(true);
    expect((expires.signal.reason as { code: string }).code).toBe("upstream.timeout");
    expect(answered.signal.aborted).toBe(false);
    expect(done.signal.aborted).toBe(false);
    answered.done();
    expect(inFlight.size).toBe(0);
    inFlight.close();
  });
});
