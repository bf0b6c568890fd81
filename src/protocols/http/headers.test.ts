import { describe, expect, test } from "bun:test";
import {
  bearerToken,
  forwardRequestHeaders,
  forwardResponseHeaders,
  policyHeaders,
  recordedHeaders,
} from "./headers.ts";

const RELAY = { forwardHeaders: [] as string[], forwardCookies: false };

describe("headers", () => {
  test("hop-by-hop fields, fields named by Connection and client credentials are not forwarded", () => {
    const h = new Headers({
      connection: "keep-alive, x-secret-hop",
      "keep-alive": "timeout=5",
      "x-secret-hop": "1",
      te: "trailers",
      upgrade: "h2c",
      authorization: "Bearer t",
      "proxy-authorization": "Bearer t",
      host: "gateway",
      accept: "application/json",
    });
    expect([...forwardRequestHeaders(h, RELAY, null).keys()].sort()).toEqual(["accept", "via"]);
  });

  test("only the allow-list passes; client-address and routing headers are the gateway's own", () => {
    const h = new Headers({
      accept: "text/csv",
      "content-type": "application/json",
      cookie: "sid=client",
      "x-forwarded-for": "10.0.0.1",
      "x-forwarded-host": "evil",
      "x-real-ip": "10.0.0.2",
      forwarded: "for=10.0.0.3",
      "x-api-key": "client-key",
      "x-original-url": "/admin",
      "x-rewrite-url": "/admin",
      "x-http-method-override": "DELETE",
      "x-tenant": "t1",
      via: "1.1 edge",
    });
    const out = forwardRequestHeaders(h, RELAY, { ip: "127.0.0.9", proto: "http" });
    expect(Object.fromEntries(out)).toEqual({
      accept: "text/csv",
      "content-type": "application/json",
      via: "1.1 custos",
      "x-forwarded-for": "127.0.0.9",
      "x-forwarded-proto": "http",
      forwarded: "for=127.0.0.9;proto=http",
    });
    const opted = forwardRequestHeaders(
      h,
      { forwardHeaders: ["x-tenant"], forwardCookies: true },
      {
        ip: "::1",
        proto: "https",
      },
    );
    expect(opted.get("x-tenant")).toBe("t1");
    expect(opted.get("cookie")).toBe("sid=client");
    expect(opted.get("forwarded")).toBe('for="[::1]";proto=https');
  });

  test("responses keep every Set-Cookie and drop length and encoding when rewritten", () => {
    const up = new Headers([
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
      ["content-length", "10"],
      ["content-encoding", "gzip"],
      ["transfer-encoding", "chunked"],
    ]);
    expect(forwardResponseHeaders(up, false).getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(forwardResponseHeaders(up, false).get("transfer-encoding")).toBeNull();
    const rewritten = forwardResponseHeaders(up, true);
    expect(rewritten.get("content-length")).toBeNull();
    expect(rewritten.get("content-encoding")).toBeNull();
  });

  test("a real upstream's response: Set-Cookies kept apart, hop-by-hop and Connection-named fields gone", async () => {
    // Written on the wire by hand, so the fields Bun's own server would add or drop are all there.
    const server = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(sock) {
          sock.end(
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive, X-Hop\r\nkeep-alive: timeout=5\r\n" +
              "x-hop: 1\r\nset-cookie: a=1\r\nset-cookie: b=2\r\nx-kept: yes\r\n\r\nok",
          );
        },
      },
    });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/`);
      const out = forwardResponseHeaders(res.headers, false);
      expect(out.getSetCookie()).toEqual(["a=1", "b=2"]);
      for (const gone of ["connection", "keep-alive", "x-hop"]) expect(out.has(gone)).toBe(false);
      expect(out.get("x-kept")).toBe("yes");
      expect(out.get("content-length")).toBe("2");
      await res.text();
    } finally {
      server.stop(true);
    }
  });

  test("secrets never reach the policy or a recording", () => {
    const h = new Headers({
      cookie: "s=1",
      "x-api-key": "k",
      "x-service-token": "t",
      "x-billing": "k2",
      accept: "*/*",
      traceparent: "00-1",
    });
    expect(policyHeaders(h, "x-billing")).toEqual({ accept: "*/*" });
    const rec = recordedHeaders(h, "x-billing");
    expect(rec.cookie).toBe("[redacted]");
    expect(rec["x-service-token"]).toBe("[redacted]");
    expect(rec["x-billing"]).toBe("[redacted]");
    expect(rec.traceparent).toBe("00-1");
  });

  test("bearer tokens from Authorization or Proxy-Authorization", () => {
    expect(bearerToken(new Headers({ authorization: "Bearer abc.def-ghi" }))).toBe("abc.def-ghi");
    expect(
      bearerToken(new Headers({ "proxy-authorization": "bearer xyz", authorization: "Bearer other" })),
    ).toBe("xyz");
    expect(bearerToken(new Headers({ authorization: "Basic eDp5" }))).toBe("malformed");
    expect(bearerToken(new Headers({ authorization: "Bearer a b" }))).toBe("malformed");
    expect(bearerToken(new Headers())).toBeNull();
  });
});
