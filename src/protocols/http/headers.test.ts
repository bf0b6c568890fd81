import { describe, expect, test } from "bun:test";
import {
  bearerToken,
  forwardRequestHeaders,
  forwardResponseHeaders,
  policyHeaders,
  recordedHeaders,
} from "./headers.ts";

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
    expect([...forwardRequestHeaders(h).keys()].sort()).toEqual(["accept", "via"]);
  });

  test("Via is appended to an existing chain", () => {
    expect(forwardRequestHeaders(new Headers({ via: "1.1 edge" })).get("via")).toBe("1.1 edge, 1.1 custos");
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
