import { describe, expect, test } from "bun:test";
import type { MaskRule } from "../../core/decision.ts";
import { COLUMN_PHONE_LIKE, COLUMN_SSN_LIKE } from "../../masking/detector.ts";
import { builtinDetectors } from "../../masking/detectors/builtin.ts";
import { MaskingEngine } from "../../masking/engine.ts";
import { maskDataRow, pgRowMasker } from "./mask.ts";
import { columnDetectors, maxDigits } from "./mask-columns.ts";

const enc = new TextEncoder();
const engine = new MaskingEngine({ hmacKey: "test-key-0123456789abcdef" });
const ALL: MaskRule[] = [{ detector: "*", method: "redact" }];
const CARD = "4111111111111111";
const AMEX = "378282246310005";

// numeric(p,s) typmod as numeric.c make_numeric_typmod builds it.
const numericMod = (p: number, s: number) => ((p << 16) | (s & 0x7ff)) + 4;

function dataRow(values: (Uint8Array | null)[]): Uint8Array {
  const size = 6 + values.reduce((n, v) => n + 4 + (v?.length ?? 0), 0);
  const out = new Uint8Array(1 + size);
  const dv = new DataView(out.buffer);
  out[0] = 0x44;
  dv.setInt32(1, size);
  dv.setInt16(5, values.length);
  let pos = 7;
  for (const v of values) {
    dv.setInt32(pos, v ? v.length : -1);
    pos += 4;
    if (v) {
      out.set(v, pos);
      pos += v.length;
    }
  }
  return out;
}

/** The client's bytes for one value masked under every detector in a column of this type. */
function masked(
  name: string,
  typeOid: number,
  value: Uint8Array,
  opts: { typeMod?: number; format?: number } = {},
) {
  const plan = engine.plan(ALL, [{ name }]);
  const m = pgRowMasker(plan, [{ typeOid, typeMod: opts.typeMod ?? -1, format: opts.format ?? 0 }]);
  return maskDataRow(dataRow([value]), m);
}

const contains = (hay: Uint8Array, needle: string) => Buffer.from(hay).includes(Buffer.from(needle));
const be = (bytes: number, write: (dv: DataView) => void) => {
  const b = new Uint8Array(bytes);
  write(new DataView(b.buffer));
  return b;
};

describe("maxDigits", () => {
  test("integer widths, numeric precision and scale, char lengths", () => {
    expect([maxDigits(21, -1), maxDigits(23, -1), maxDigits(20, -1), maxDigits(26, -1)]).toEqual([
      5, 10, 19, 10,
    ]);
    expect(maxDigits(1700, -1)).toBe(Number.POSITIVE_INFINITY);
    expect(maxDigits(1700, numericMod(12, 2))).toBe(12); // 9999999999.99
    expect(maxDigits(1700, numericMod(2, 5))).toBe(6); // 0.00099
    expect(maxDigits(1700, numericMod(3, -2))).toBe(5); // 99900
    expect(maxDigits(1043, 12 + 4)).toBe(12);
    expect(maxDigits(25, -1)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("every detector still fires on every type that can carry its shape", () => {
  test("a card number in int8 and numeric, text and binary, becomes NULL", () => {
    for (const out of [
      masked("order_ref", 20, enc.encode(CARD)),
      masked(
        "order_ref",
        20,
        be(8, (dv) => dv.setBigInt64(0, BigInt(CARD))),
        { format: 1 },
      ),
      masked("amount", 1700, enc.encode(CARD)),
      masked("amount", 1700, enc.encode(`-${CARD}`), { typeMod: numericMod(19, 0) }),
      // 4111 1111 1111 1111 as binary numeric: ndigits 4, weight 3, sign +, dscale 0, base-10000 digits.
      masked(
        "amount",
        1700,
        be(16, (dv) => {
          for (const [k, v] of [4, 3, 0, 0, 4111, 1111, 1111, 1111].entries()) dv.setInt16(k * 2, v);
        }),
        {
          format: 1,
        },
      ),
      // A 15-digit card prints as itself from float8out (no exponent below 1e15).
      masked("reading", 701, enc.encode(AMEX)),
      masked(
        "reading",
        701,
        be(8, (dv) => dv.setFloat64(0, Number(AMEX))),
        { format: 1 },
      ),
    ]) {
      expect(contains(out, "4111")).toBe(false);
      expect(contains(out, "3782822")).toBe(false);
      expect(new DataView(out.buffer, out.byteOffset).getInt32(7)).toBe(-1);
    }
  });

  test("an SSN or phone as bare digits in int4/int8/oid columns named like one becomes NULL", () => {
    for (const [oid, fmt, value] of [
      [23, 0, enc.encode("078051120")],
      [23, 1, be(4, (dv) => dv.setInt32(0, 78051120 + 100000000))],
      [20, 0, enc.encode("178051120")],
      [26, 1, be(4, (dv) => dv.setUint32(0, 178051120))],
    ] as const) {
      const out = masked("customer_ssn", oid, value, { format: fmt });
      expect(new DataView(out.buffer, out.byteOffset).getInt32(7)).toBe(-1);
    }
    const phone = masked("mobile_phone", 20, enc.encode("2125550123"));
    expect(contains(phone, "2125550123")).toBe(false);
    // oid above 2^31 reads unsigned: 3125550123 is a phone number, not -1169417173.
    const big = masked(
      "mobile_phone",
      26,
      be(4, (dv) => dv.setUint32(0, 3125550123)),
      { format: 1 },
    );
    expect(new DataView(big.buffer, big.byteOffset).getInt32(7)).toBe(-1);
  });

  test("an e-mail in text, varchar, bpchar, name, json and jsonb is redacted", () => {
    const email = "ada.lovelace@example-bank.com";
    for (const [oid, value, typeMod] of [
      [25, email, -1],
      [1043, email, 64 + 4],
      [1042, email.padEnd(40), 40 + 4],
      [19, email, -1],
      [114, JSON.stringify({ contact: email }), -1],
      [3802, JSON.stringify({ contact: email }), -1],
    ] as const) {
      const out = masked("note", oid, enc.encode(value), { typeMod });
      expect(contains(out, "lovelace")).toBe(false);
      expect(contains(out, "REDACTED")).toBe(true);
    }
  });

  test("harmless look-alikes in number columns stay: ids, amounts, a 9-digit order number", () => {
    for (const [name, oid, value, typeMod] of [
      ["id", 23, "178051120", -1],
      ["order_id", 20, "9876543210000001", -1],
      ["amount", 1700, "1234567890.25", numericMod(12, 2)],
      ["amount", 1700, "NaN", -1],
    ] as const) {
      const row = dataRow([enc.encode(value)]);
      expect(
        maskDataRow(row, pgRowMasker(engine.plan(ALL, [{ name }]), [{ typeOid: oid, typeMod, format: 0 }])),
      ).toBe(row);
    }
  });
});

describe("the detectors a column's type drops could never have fired there", () => {
  // Every text form an integer or numeric of n digits can take, with digits chosen to look like
  // cards, SSNs and phones, judged by running the dropped detector itself.
  function numberTexts(maxDigits: number): string[] {
    const seeds = [CARD, AMEX, "078051120", "2125550123", "12125550123", "123456789", "4111111111111111111"];
    const out = ["NaN", "Infinity", "-Infinity", "0", "-0"];
    const cap = Math.min(maxDigits, 40);
    for (const seed of seeds) {
      for (let n = 1; n <= cap; n++) {
        const digits = seed.repeat(3).slice(0, n);
        out.push(digits, `-${digits}`);
        for (let dot = 1; dot < n; dot++) {
          const t = `${digits.slice(0, dot)}.${digits.slice(dot)}`;
          out.push(t, `-${t}`, `0.${digits}`);
        }
      }
    }
    return out;
  }

  const types: [string, number, number][] = [
    ["int2", 21, -1],
    ["int4", 23, -1],
    ["int8", 20, -1],
    ["oid", 26, -1],
    ["numeric", 1700, -1],
    ["numeric(12,2)", 1700, numericMod(12, 2)],
    ["numeric(20,0)", 1700, numericMod(20, 0)],
  ];
  for (const [label, oid, typeMod] of types) {
    for (const flags of [0, COLUMN_SSN_LIKE, COLUMN_PHONE_LIKE]) {
      test(`${label}, column flags ${flags}`, () => {
        const name = flags === COLUMN_SSN_LIKE ? "ssn" : flags === COLUMN_PHONE_LIKE ? "phone" : "value";
        const plan = engine.plan(ALL, [{ name }]);
        expect(plan.columns[0]!.flags).toBe(flags);
        const kept = new Set(columnDetectors(plan, 0, oid, typeMod).map((a) => a.detector.name));
        const texts = numberTexts(maxDigits(oid, typeMod)).map((t) => enc.encode(t));
        let dropped = 0;
        for (const d of builtinDetectors) {
          if (kept.has(d.name)) continue;
          dropped++;
          for (const t of texts) {
            const hits: number[] = [];
            d.find(t, 0, t.length, flags, hits);
            expect(hits).toEqual([]);
          }
        }
        expect(dropped).toBeGreaterThan(0);
      });
    }
  }

  test("text columns keep every detector; a short varchar drops those needing more digits than it holds", () => {
    const plan = engine.plan(ALL, [{ name: "note" }]);
    expect(columnDetectors(plan, 0, 25, -1)).toBe(plan.columns[0]!.detectors);
    const short = columnDetectors(plan, 0, 1043, 8 + 4).map((a) => a.detector.name);
    expect(short).toContain("email");
    expect(short).not.toContain("card");
    expect(short).not.toContain("ssn");
  });

  test("a custom detector, which cannot say what it matches, runs on every type", () => {
    const custom = new MaskingEngine({ detectors: [{ name: "acct", pattern: "\\d{6}", method: "redact" }] });
    const plan = custom.plan(ALL, [{ name: "id" }]);
    const names = columnDetectors(plan, 0, 21, -1).map((a) => a.detector.name);
    expect(names).toContain("acct");
    expect(names).not.toContain("email");
  });
});
