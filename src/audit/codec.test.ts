import { describe, expect, test } from "bun:test";
import { ByteSink } from "./canonical.ts";
import {
  decodeEvent,
  decodeFrames,
  encodeEvent,
  encodeFrames,
  REDACTED,
  scrub,
  scrubEvent,
  scrubFrame,
  writeBytesFrame,
  writeEvent,
  writeFrame,
} from "./codec.ts";

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

describe("writeEvent and writeFrame (encode with the scrub applied in the same pass)", () => {
  const written = (write: (s: ByteSink) => void) => {
    const sink = new ByteSink(16);
    write(sink);
    return Buffer.from(sink.take());
  };

  test("the bytes are those of scrub-then-encode, secrets at any depth, undefined secrets included", () => {
    const e = {
      type: "auth.failure",
      time: 5,
      sessionId: "s",
      data: {
        user: "a",
        password: "hunter2",
        nested: { Api_Key: "k", list: [{ token: "t", ok: 1 }], when: new Date(0) },
        refresh_token: undefined,
        z: undefined,
      },
    };
    // With the Date the value takes the library's path (scrubbed first); without it, the fused one.
    expect(written((s) => writeEvent(s, e))).toEqual(Buffer.from(encodeEvent(scrubEvent(e))));
    const plain = { ...e, data: { ...e.data, nested: { ...e.data.nested, when: 0 } } };
    expect(written((s) => writeEvent(s, plain))).toEqual(Buffer.from(encodeEvent(scrubEvent(plain))));
    const decoded = decodeEvent(written((s) => writeEvent(s, e)));
    expect(JSON.stringify(decoded)).not.toContain("hunter2");
    expect(decoded.data.refresh_token).toBe(REDACTED);
  });

  test("frames: secret message kinds lose their payload, secret keys their values", () => {
    const frames = [
      { t: 1, dir: "client" as const, kind: "PasswordMessage", data: { bytes: new Uint8Array([1, 2]) } },
      {
        t: 2,
        dir: "server" as const,
        kind: "http.request",
        data: { headers: { authorization: "Bearer x" } },
      },
    ];
    const bytes = written((s) => {
      for (const f of frames) writeFrame(s, f);
    });
    const expected = Buffer.from(encodeFrames(frames.map(scrubFrame))).subarray(1); // without the array header
    expect(bytes).toEqual(expected);
    expect(decodeFrames(Buffer.concat([Buffer.of(0x92), bytes]))[1]).toEqual({
      t: 2,
      dir: "server",
      kind: "http.request",
      data: { headers: { authorization: REDACTED } },
    });
  });
});

test("writeBytesFrame writes what writeFrame writes for a byte-stream frame, secret kinds included", () => {
  for (const size of [0, 10, 255, 256, 70_000]) {
    for (const kind of ["pg.stream", "PasswordMessage"]) {
      const bytes = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
      const t = 1_795_000_000_123_456 + size;
      const a = new ByteSink(8);
      const b = new ByteSink(8);
      writeBytesFrame(a, t, "server", kind, bytes);
      writeFrame(b, { t, dir: "server", kind, data: { bytes } });
      expect(Buffer.from(a.take())).toEqual(Buffer.from(b.take()));
    }
  }
});
