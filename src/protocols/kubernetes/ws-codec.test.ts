import { describe, expect, test } from "bun:test";
import { encodeDataFrame, SpdyFrameParser } from "./spdy-codec.ts";
import { encodeFrame, OP_BINARY, OP_CONTINUATION, OP_PING, WsFrameParser, WsMessages } from "./ws-codec.ts";

function maskedFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const key = [0x12, 0x34, 0x56, 0x78];
  const len = payload.length;
  const head =
    len < 126
      ? [(fin ? 0x80 : 0) | opcode, 0x80 | len]
      : [(fin ? 0x80 : 0) | opcode, 0x80 | 126, len >> 8, len & 255];
  const out = new Uint8Array(head.length + 4 + len);
  out.set(head, 0);
  out.set(key, head.length);
  for (let i = 0; i < len; i++) out[head.length + 4 + i] = payload[i]! ^ key[i & 3]!;
  return out;
}

describe("WebSocket frames", () => {
  test("client frames are unmasked, whatever the chunking; raw bytes are kept", () => {
    const a = maskedFrame(OP_BINARY, new Uint8Array([0, ...new TextEncoder().encode("id\n")]));
    const b = maskedFrame(OP_BINARY, new Uint8Array(300).fill(7));
    const all = new Uint8Array([...a, ...b]);
    for (const cut of [1, 2, 5, a.length, a.length + 3]) {
      const p = new WsFrameParser(true, 1 << 20);
      const frames = [...p.push(all.subarray(0, cut)), ...p.push(all.subarray(cut))];
      expect(frames.map((f) => f.payload.length)).toEqual([4, 300]);
      expect(new TextDecoder().decode(frames[0]!.payload.subarray(1))).toBe("id\n");
      expect([...frames[0]!.raw]).toEqual([...a]);
    }
  });
  test("parsing never changes the bytes it was given (a Buffer's slice is a view: they are forwarded)", () => {
    const frame = Buffer.from(maskedFrame(OP_BINARY, new Uint8Array([0, 104, 105])));
    const before = Buffer.from(frame);
    new WsFrameParser(true, 100).push(frame);
    expect(frame.equals(before)).toBe(true);
  });
  test("server frames round-trip through encodeFrame at every length form", () => {
    for (const n of [0, 125, 126, 65535, 65536]) {
      const payload = new Uint8Array(n).fill(1);
      const f = new WsFrameParser(false, 1 << 20).push(encodeFrame(OP_BINARY, payload));
      expect(f.length).toBe(1);
      expect(f[0]!.payload.length).toBe(n);
    }
  });
  test("forbidden frames are errors: unmasked client frame, reserved bits, oversize, long control", () => {
    expect(() => new WsFrameParser(true, 100).push(encodeFrame(OP_BINARY, new Uint8Array(1)))).toThrow();
    expect(() => new WsFrameParser(false, 100).push(new Uint8Array([0xc2, 0]))).toThrow();
    expect(() => new WsFrameParser(false, 100).push(encodeFrame(OP_BINARY, new Uint8Array(101)))).toThrow();
    expect(() => new WsFrameParser(false, 1000).push(encodeFrame(OP_PING, new Uint8Array(126)))).toThrow();
    expect(() => new WsFrameParser(false, 100).push(new Uint8Array([0x83, 0]))).toThrow();
  });
  test("fragmented messages are reassembled; control frames in between pass at once", () => {
    const m = new WsMessages(1000);
    const p = new WsFrameParser(false, 1000);
    const frames = p.push(
      new Uint8Array([
        ...encodeFrame(OP_BINARY, new Uint8Array([1, 65]), false),
        ...encodeFrame(OP_PING, new Uint8Array(0)),
        ...encodeFrame(OP_CONTINUATION, new Uint8Array([66]), true),
      ]),
    );
    const out = frames.map((f) => m.push(f));
    expect(out[0]).toBeNull();
    expect(out[1]!.opcode).toBe(OP_PING);
    expect([...out[2]!.payload]).toEqual([1, 65, 66]);
    expect(() =>
      new WsMessages(10).push({
        fin: true,
        opcode: OP_CONTINUATION,
        payload: new Uint8Array(1),
        raw: new Uint8Array(0),
      }),
    ).toThrow();
  });
});

describe("SPDY frames", () => {
  test("data and control frames split by their headers only", () => {
    const data = encodeDataFrame(3, 0, new TextEncoder().encode("GET / HTTP/1.1\r\n"));
    // A PING control frame (version 3, type 6, 4 bytes of id).
    const ping = new Uint8Array([0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1]);
    const p = new SpdyFrameParser(1 << 16);
    const all = new Uint8Array([...data, ...ping]);
    const frames = [...p.push(all.subarray(0, 5)), ...p.push(all.subarray(5))];
    expect(frames.map((f) => [f.control, f.type, f.streamId])).toEqual([
      [false, 0, 3],
      [true, 6, 0],
    ]);
    expect(() => new SpdyFrameParser(10).push(encodeDataFrame(1, 0, new Uint8Array(11)))).toThrow();
    expect(() => new SpdyFrameParser(10).push(new Uint8Array([0x80, 2, 0, 6, 0, 0, 0, 0]))).toThrow();
  });
});
