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

  test("the ASCII path writes what the rule says, at any offset, for random values", () => {
    // The rule, spelled out: keep the last min(4, half) letters and digits, star the others, keep the rest.
    const reference = (v: string) => {
      const word = (c: string) => /[A-Za-z0-9]/.test(c);
      let keep = Math.min(4, [...v].filter(word).length >> 1);
      const out: string[] = [];
      for (let i = v.length - 1; i >= 0; i--) {
        const c = v[i]!;
        if (!word(c)) out.push(c);
        else if (keep > 0) {
          keep--;
          out.push(c);
        } else out.push("*");
      }
      return out.reverse().join("");
    };
    const alphabet = "abcXYZ0123456789-@. ()_/";
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 500; round++) {
      const v = Array.from({ length: rand(40) }, () => alphabet[rand(alphabet.length)]).join("");
      const framed = enc.encode(`<<${v}>>`);
      const out = new Uint8Array(framed.length + 3);
      const end = partialWrite(framed, 2, framed.length - 2, out, 3);
      expect(end).toBe(3 + partialLength(framed, 2, framed.length - 2));
      expect(dec.decode(out.subarray(3, end))).toBe(reference(v));
    }
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
