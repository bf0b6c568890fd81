import { describe, expect, test } from "bun:test";
import { decodeEvent, decodeFrames, encodeEvent, REDACTED, scrub, scrubFrame } from "./codec.ts";

describe("codec", () => {
  test("event bodies are canonical: key order does not change the bytes", () => {
    const a = encodeEvent({ type: "statement", time: 1, sessionId: "s", data: { a: 1, b: { c: 2, d: 3 } } });
    const b = encodeEvent({ data: { b: { d: 3, c: 2 }, a: 1 }, sessionId: "s", time: 1, type: "statement" });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(decodeEvent(a)).toEqual({
      type: "statement",
      time: 1,
      sessionId: "s",
      data: { a: 1, b: { c: 2, d: 3 } },
    });
  });

  test("an absent session id is left out of the body, not stored as null", () => {
    expect(decodeEvent(encodeEvent({ type: "gateway.start", time: 1, data: {} }))).toEqual({
      type: "gateway.start",
      time: 1,
      data: {},
    });
  });

  test("scrub replaces secret-named fields at any depth and leaves everything else untouched", () => {
    const input = {
      user: "alice",
      Password: "p",
      nested: { client_secret: "s", "refresh-token": "r", tokenId: "jti-1", list: [{ apiKey: "k" }, 3] },
      bytes: new Uint8Array([1]),
    };
    expect(scrub(input)).toEqual({
      user: "alice",
      Password: REDACTED,
      nested: {
        client_secret: REDACTED,
        "refresh-token": REDACTED,
        tokenId: "jti-1",
        list: [{ apiKey: REDACTED }, 3],
      },
      bytes: new Uint8Array([1]),
    });
    expect(input.Password).toBe("p");
    const clean = { a: { b: [1, 2] } };
    expect(scrub(clean)).toBe(clean);
  });

  test("password frames keep their place in the recording but lose their payload", () => {
    expect(
      scrubFrame({ t: 1, dir: "client", kind: "PasswordMessage", data: { bytes: new Uint8Array([1, 2]) } }),
    ).toEqual({ t: 1, dir: "client", kind: "PasswordMessage", data: { redacted: true } });
  });

  test("garbage bytes are refused with a clear error", () => {
    expect(() => decodeEvent(new Uint8Array([0x01]))).toThrow("audit event body is not an event");
    expect(() => decodeFrames(new Uint8Array([0x01]))).toThrow("recording batch is not a frame list");
  });
});
