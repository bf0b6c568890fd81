import { describe, expect, test } from "bun:test";
import { Hasher, partialLength, partialWrite } from "./methods.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function partial(s: string): string {
  const b = enc.encode(s);
  const out = new Uint8Array(partialLength(b, 0, b.length));
  expect(partialWrite(b, 0, b.length, out, 0)).toBe(out.length);
  return dec.decode(out);
}

describe("partial", () => {
  test.each([
    ["4111-1111-1111-1234", "****-****-****-1234"],
    ["123-45-6789", "***-**-6789"],
    ["ada@example.com", "***@******e.com"],
    ["Robert", "***ert"],
    ["ab", "*b"],
    ["a", "*"],
    ["", ""],
    ["Zoë Müller-Lüdenscheidt", "*** ******-********eidt"],
  ])("%p → %p", (input, want) => {
    expect(partial(input)).toBe(want);
  });

  test("multi-byte characters are masked as one star and kept whole", () => {
    expect(partial("ééééé")).toBe("***éé");
  });
});

describe("hash", () => {
  const key = enc.encode("key-one-0123456789abcdef");
  const v = enc.encode("123-45-6789");

  test("stable, prefixed and short", () => {
    const h = new Hasher(key);
    const a = dec.decode(h.hash(v, 0, v.length));
    expect(a).toMatch(/^hmac:[0-9a-f]{16}$/);
    expect(dec.decode(new Hasher(key).hash(v, 0, v.length))).toBe(a);
    expect(dec.decode(h.hash(v, 0, v.length))).toBe(a); // cached path
  });

  test("keyed: another key gives another pseudonym", () => {
    const a = dec.decode(new Hasher(key).hash(v, 0, v.length));
    const b = dec.decode(new Hasher(enc.encode("key-two-0123456789abcdef")).hash(v, 0, v.length));
    expect(a).not.toBe(b);
  });

  test("canonical hashing ignores separators and case", () => {
    const h = new Hasher(key);
    const x = enc.encode("4111-1111-1111-1111");
    const y = enc.encode("4111 1111 1111 1111");
    const z = enc.encode("4111111111111112");
    const hx = dec.decode(h.hash(x, 0, x.length, true));
    expect(dec.decode(h.hash(y, 0, y.length, true))).toBe(hx);
    expect(dec.decode(h.hash(z, 0, z.length, true))).not.toBe(hx);
    expect(dec.decode(h.hash(x, 0, x.length, false))).not.toBe(hx);
  });

  test("long values hash without the cache", () => {
    const h = new Hasher(key, 2);
    const long = enc.encode("x".repeat(10_000));
    expect(dec.decode(h.hash(long, 0, long.length))).toBe(
      dec.decode(new Hasher(key).hash(long, 0, long.length)),
    );
  });
});
