import { describe, expect, test } from "bun:test";
import { Encoder } from "@msgpack/msgpack";
import { ByteSink, encodeCanonical, type Redaction, writeCanonical } from "./canonical.ts";

// The reference: what the audit log has always stored. Every value below must come out byte for byte alike.
const reference = new Encoder({ sortKeys: true, ignoreUndefined: true });
const same = (v: unknown) =>
  expect(Buffer.from(encodeCanonical(v))).toEqual(Buffer.from(reference.encode(v)));

// A small deterministic generator (xorshift), so a failure reproduces.
function rng(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const STRING_UNITS = ["a", "Z", " ", "é", "ß", "€", "中", "😀", "\ud800", "\udc00", "\u0000", "'", "\u07ff"];

function randomValue(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 7 : 10));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2: {
      const scales = [1, 0x20, 0x80, 0x100, 0x8000, 0x10000, 0x80000000, 0x100000000, 2 ** 52];
      const n = Math.floor(r() * scales[Math.floor(r() * scales.length)]! * 2);
      return r() < 0.3 ? -n : n;
    }
    case 3:
      return r() < 0.5
        ? r() * 1e6 - 5e5
        : [Number.NaN, Number.POSITIVE_INFINITY, -0, 1.5, 2 ** 60][Math.floor(r() * 5)];
    case 4:
    case 5: {
      const lengths = [0, 5, 31, 32, 50, 51, 200, 300];
      const n = lengths[Math.floor(r() * lengths.length)]!;
      let s = "";
      const ascii = r() < 0.5;
      for (let i = 0; i < n; i++) s += ascii ? "x" : STRING_UNITS[Math.floor(r() * STRING_UNITS.length)];
      return s;
    }
    case 6: {
      const n = [0, 3, 255, 256, 300][Math.floor(r() * 5)]!;
      return Uint8Array.from({ length: n }, (_, i) => i & 0xff);
    }
    case 7: {
      const n = [0, 2, 15, 16][Math.floor(r() * 4)]!;
      return Array.from({ length: n }, () => randomValue(r, depth + 1));
    }
    default: {
      const n = [0, 1, 5, 15, 16, 20][Math.floor(r() * 6)]!;
      const o: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const key = ["zeta", "alpha", "mid", "a", "é", "A", "_x", "key"][Math.floor(r() * 8)]! + i;
        o[key] = r() < 0.15 ? undefined : randomValue(r, depth + 1);
      }
      return o;
    }
  }
}

describe("canonical msgpack", () => {
  test("matches the library for a statement event", () => {
    same({
      type: "statement",
      time: 1_795_000_000_123,
      sessionId: "0193b2a4-7c1e-7d2f-9a3b-1c2d3e4f5a6b",
      data: { text: "SELECT 1", action: "allow", rows: 1, error: undefined, duration_us: 73, seq: 0 },
    });
  });

  test("matches the library on 3,000 random values", () => {
    const r = rng(0x9e3779b9);
    for (let i = 0; i < 3000; i++) {
      const v = randomValue(r, 0);
      if (!Buffer.from(encodeCanonical(v)).equals(reference.encode(v))) same(v);
    }
  });

  test("long strings, byte arrays, arrays and maps take the 16- and 32-bit headers", () => {
    same("é".repeat(40_000));
    same("x".repeat(70_000));
    same(new Uint8Array(70_000));
    same(Array.from({ length: 70_000 }, (_, i) => i));
    same(Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i])));
  });

  test("integer boundaries and floats", () => {
    for (const n of [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      same(n);
      same(-n);
      same(-n - 1);
    }
    for (const f of [0.5, -0.5, 1e300, Number.NaN, -0, 2 ** 53, -(2 ** 53)]) same(f);
  });

  test("values it does not handle itself go to the library whole: Date, Map, typed arrays, classes", () => {
    class Thing {
      x = 1;
    }
    same({
      when: new Date(1_700_000_000_000),
      m: new Map([[1, 2]]),
      u16: new Uint16Array([1, 2]),
      t: new Thing(),
    });
    same(Buffer.from("bytes"));
  });

  test("keys out of order are sorted, undefined values are left out", () => {
    same({ b: 1, a: undefined, c: [undefined, 1], A: { z: 1, y: undefined } });
  });

  test("what the library refuses is refused, and the sink is left as it was", () => {
    const sink = new ByteSink(8);
    writeCanonical(sink, "kept");
    const before = sink.used;
    expect(() => writeCanonical(sink, { n: 10n })).toThrow();
    let deep: unknown = 1;
    for (let i = 0; i < 150; i++) deep = [deep];
    expect(() => writeCanonical(sink, deep)).toThrow();
    expect(sink.used).toBe(before);
    expect(Buffer.from(sink.take())).toEqual(Buffer.from(reference.encode("kept")));
  });

  test("appends grow the sink and take() hands over exactly what was written", () => {
    const sink = new ByteSink(4);
    const values = [{ a: "x".repeat(100) }, 1, "two", new Uint8Array(300)];
    for (const v of values) writeCanonical(sink, v);
    const expected = Buffer.concat(values.map((v) => reference.encode(v)));
    expect(Buffer.from(sink.take())).toEqual(expected);
    expect(sink.used).toBe(0);
  });
  test("a key's remembered encoding and secret answer hold for each redaction it is written under", () => {
    const hides = (name: string): Redaction => ({
      isSecret: (k) => k === name,
      replacement: "[x]",
      maxDepth: 33,
      apply: (v) => v,
    });
    const encode = (v: unknown, r?: Redaction) => {
      const sink = new ByteSink(16);
      writeCanonical(sink, v, r);
      return Buffer.from(sink.take());
    };
    const v = { pin: "1234", note: "n", clé: "é", [`k${"y".repeat(40)}`]: 1 };
    // Seen first with no redaction, then under two that hide different keys, then with none again.
    expect(encode(v)).toEqual(Buffer.from(reference.encode(v)));
    expect(encode(v, hides("pin"))).toEqual(Buffer.from(reference.encode({ ...v, pin: "[x]" })));
    expect(encode(v, hides("note"))).toEqual(Buffer.from(reference.encode({ ...v, note: "[x]" })));
    expect(encode(v)).toEqual(Buffer.from(reference.encode(v)));
    // Beyond the bound of remembered keys, answers stay right.
    for (let i = 0; i < 5000; i++) encode({ [`f${i}`]: i }, hides("pin"));
    expect(encode(v, hides("pin"))).toEqual(Buffer.from(reference.encode({ ...v, pin: "[x]" })));
  });
});
