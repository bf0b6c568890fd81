import { describe, expect, test } from "bun:test";
import { CodecError, decodeBind, decodeBindNames, isSkipped, MessageFramer, query, Writer } from "./codec.ts";

const collect = (framer: MessageFramer, chunks: Uint8Array[]) => {
  const out: Uint8Array[] = [];
  for (const c of chunks) framer.push(c, (_t, m) => out.push(m));
  return out;
};

describe("MessageFramer", () => {
  test("whole, split and byte-by-byte messages come out identical", () => {
    const stream = Buffer.concat([query("select 1"), query("select 'two'"), query("")]);
    const whole = collect(new MessageFramer(1 << 20), [stream]);
    expect(whole.map((m) => Buffer.from(m).toString("latin1"))).toEqual(
      [query("select 1"), query("select 'two'"), query("")].map((m) => Buffer.from(m).toString("latin1")),
    );
    for (const size of [1, 2, 3, 4, 5, 7]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      const framer = new MessageFramer(1 << 20);
      expect(collect(framer, chunks).map((m) => Buffer.from(m).toString("latin1"))).toEqual(
        whole.map((m) => Buffer.from(m).toString("latin1")),
      );
      expect(framer.buffered).toBe(0);
    }
  });

  test("a 256 MiB message in 64 KiB chunks costs linear time (one join)", () => {
    const size = 256 << 20;
    const header = new Uint8Array(5);
    header[0] = 0x64; // 'd' CopyData
    new DataView(header.buffer).setInt32(1, size - 1);
    const chunk = new Uint8Array(64 << 10).fill(0x61);
    const framer = new MessageFramer(1 << 30);
    let got: Uint8Array | null = null;
    const t = performance.now();
    framer.push(header, () => {});
    for (let sent = 5; sent < size; sent += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
      framer.push(part, (_t, m) => {
        got = m;
      });
    }
    const ms = performance.now() - t;
    expect(got!.length).toBe(size);
    // Re-joining the pending bytes per chunk copies ~512 GiB here; one join copies 256 MiB.
    expect(ms).toBeLessThan(3000);
  });

  test("the cap applies when the length is read, before the body is buffered; it can be raised", () => {
    const framer = new MessageFramer(16 << 10);
    const header = Uint8Array.of(0x70, 0x03, 0x00, 0x00, 0x00); // 'p', 48 MiB
    expect(() => framer.push(header, () => {})).toThrow(CodecError);
    const split = new MessageFramer(16 << 10);
    split.push(header.subarray(0, 2), () => {});
    expect(() => split.push(header.subarray(2), () => {})).toThrow("exceeds the limit");
    const raised = new MessageFramer(16 << 10);
    raised.maxMessage = 1 << 30;
    raised.push(header, () => {});
    expect(raised.buffered).toBe(5);
    expect(raised.pendingType).toBe(0x70);
  });

  test("a skipped message passes its body through and is reported by its header; the next frames as usual", () => {
    const body = new Uint8Array(3 << 20).fill(0x62);
    const header = new Uint8Array(5);
    header[0] = 0x44; // 'D'
    new DataView(header.buffer).setInt32(1, body.length + 4);
    const stream = Buffer.concat([header, body, query("after")]);
    const framer = new MessageFramer(1 << 30);
    const messages: Uint8Array[] = [];
    let passed = 0;
    const onMessage = (_t: number, m: Uint8Array) => messages.push(m);
    framer.push(stream.subarray(0, 1 << 20), onMessage);
    framer.skipPending();
    expect(framer.skipping).toBe(true);
    expect(framer.pendingType).toBe(0x44);
    for (let i = 1 << 20; i < stream.length; i += 100_000)
      framer.push(stream.subarray(i, i + 100_000), onMessage, (b) => {
        passed += b.length;
      });
    expect(passed).toBe(5 + body.length - (1 << 20));
    expect(messages).toHaveLength(2);
    expect(isSkipped(messages[0]!)).toBe(true);
    expect(Buffer.from(messages[1]!).equals(Buffer.from(query("after")))).toBe(true);
    expect(framer.buffered).toBe(0);
  });
});

describe("decodeBindNames (the Bind decoded lazily)", () => {
  const bindOf = (
    portal: string,
    statement: string,
    params: (string | null)[],
    formats = [0],
    results = [1],
  ) => {
    const w = new Writer().cstring(portal).cstring(statement).int16(formats.length);
    for (const f of formats) w.int16(f);
    w.int16(params.length);
    for (const p of params) {
      if (p === null) w.int32(-1);
      else {
        const b = new TextEncoder().encode(p);
        w.int32(b.length).bytes(b);
      }
    }
    w.int16(results.length);
    for (const r of results) w.int16(r);
    return w.finish("B");
  };

  test("gives the same names as decodeBind, unnamed and named, with and without parameters", () => {
    for (const m of [
      bindOf("", "", []),
      bindOf("", "", ["1", null, "x"]),
      bindOf("p1", "s1", ["42"]),
      bindOf("", "stmt ü", [null], [], []),
      bindOf("portal", "", ["a".repeat(300)], [0, 1]),
    ]) {
      const full = decodeBind(m);
      expect(decodeBindNames(m)).toEqual({ portal: full.portal, statement: full.statement });
    }
  });

  test("refuses every truncation decodeBind refuses, and only those", () => {
    const m = bindOf("p", "s", ["hello", null, "world"], [0, 1, 0], [1, 1]);
    for (let cut = 5; cut < m.length; cut++) {
      const short = m.slice(0, cut);
      let full: unknown = null;
      let lazy: unknown = null;
      try {
        decodeBind(short);
      } catch (err) {
        full = err;
      }
      try {
        decodeBindNames(short);
      } catch (err) {
        lazy = err;
      }
      expect(lazy instanceof CodecError).toBe(full instanceof CodecError);
    }
  });

  test("a parameter length below -1 is refused by both (it would move the read backwards)", () => {
    const w = new Writer().cstring("").cstring("").int16(0).int16(2);
    w.int32(2).bytes(new TextEncoder().encode("ab")).int32(-3);
    const m = w.int16(0).finish("B");
    expect(() => decodeBind(m)).toThrow(CodecError);
    expect(() => decodeBindNames(m)).toThrow(CodecError);
  });

  test("the empty (unnamed) name is read as an empty string, and a missing terminator still fails", () => {
    expect(decodeBindNames(bindOf("", "", []))).toEqual({ portal: "", statement: "" });
    expect(() => decodeBindNames(new Uint8Array([0x42, 0, 0, 0, 5, 0x61]))).toThrow(CodecError);
    expect(() => decodeBindNames(new Uint8Array([0x42, 0, 0, 0, 4]))).toThrow(CodecError);
  });
});
