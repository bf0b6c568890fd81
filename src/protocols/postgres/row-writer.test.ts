// maskDataRowInto writes, into one chunk buffer, exactly the bytes maskDataRow returns per row: every
// combination of methods, detectors, NULLs, growth past the buffer and types, with the same evidence.
import { describe, expect, test } from "bun:test";
import type { MaskRule } from "../../core/decision.ts";
import { MaskingEngine } from "../../masking/engine.ts";
import { MaskStats } from "../../masking/evidence.ts";
import type { ResultColumn } from "../../masking/plan.ts";
import { maskDataRow, pgRowMasker } from "./mask.ts";
import { ChunkWriter, maskDataRowInto } from "./row-writer.ts";

const enc = new TextEncoder();
const engine = new MaskingEngine({ hmacKey: "test-key-0123456789abcdef" });

function dataRow(values: (string | null)[]): Uint8Array {
  const parts = values.map((v) => (v === null ? null : enc.encode(v)));
  const size = 4 + 2 + parts.reduce((n, p) => n + 4 + (p?.length ?? 0), 0);
  const out = new Uint8Array(1 + size);
  const dv = new DataView(out.buffer);
  out[0] = 0x44;
  dv.setInt32(1, size);
  dv.setInt16(5, parts.length);
  let pos = 7;
  for (const p of parts) {
    dv.setInt32(pos, p ? p.length : -1);
    pos += 4;
    if (p) {
      out.set(p, pos);
      pos += p.length;
    }
  }
  return out;
}

const cols: (ResultColumn & { typeOid: number })[] = [
  { name: "id", typeOid: 23 },
  { name: "email", typeOid: 25 },
  { name: "phone", typeOid: 25 },
  { name: "ssn", typeOid: 25 },
  { name: "card_number", typeOid: 1043 },
  { name: "note", typeOid: 25 },
  { name: "order_id", typeOid: 20 },
  { name: "doc", typeOid: 114 },
];

const ruleSets: [string, MaskRule[]][] = [
  ["no rules", []],
  ["redact", [{ column: "ssn", method: "redact" }]],
  [
    "every method",
    [
      { column: "ssn", method: "redact" },
      { column: "card_number", method: "partial" },
      { column: "email", method: "hash" },
      { column: "phone", method: "null" },
      { column: "doc", method: "redact" },
    ],
  ],
  ["detectors everywhere", [{ detector: "*", method: "redact" }]],
  [
    "columns and detectors (the default pack's shape)",
    [
      { column: "ssn", method: "redact" },
      { column: "card_number", method: "partial" },
      { column: "email", method: "hash" },
      { detector: "*", method: "partial" },
    ],
  ],
];

function rows(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 60; i++) {
    out.push(
      dataRow([
        String(i),
        i % 7 === 0 ? null : `customer.${i}@example-bank.com`,
        `(212) 555-${String(1000 + i).slice(-4)}`,
        i % 5 === 0 ? null : `123-45-${String(1000 + i)}`,
        i % 11 === 0 ? "Zoë Müller-Lüdenscheidt ééé" : "4111 1111 1111 1111",
        i % 3 === 0 ? "nothing to see" : `ref 4111111111111111 and x${"y".repeat(i * 40)} ssn 078-05-1120`,
        String(9876543210000000 + i),
        `{"card": "4111111111111111", "n": ${i}}`,
      ]),
    );
  }
  out.push(dataRow([null, null, null, null, null, null, null, null]));
  out.push(dataRow(["", "", "", "", "", "", "", ""]));
  return out;
}

describe("maskDataRowInto", () => {
  for (const [name, rules] of ruleSets) {
    test(`${name}: the chunk holds exactly maskDataRow's rows, with the same evidence`, () => {
      const plan = engine.plan(rules, cols);
      const m = pgRowMasker(
        plan,
        cols.map((c) => ({ typeOid: c.typeOid, format: 0 })),
      );
      const one = new MaskStats(plan, cols);
      const chunked = new MaskStats(plan, cols);
      const input = rows();
      const expected = Buffer.concat(input.map((r) => maskDataRow(r, m, one)));
      // A small initial buffer: rows and replacements grow it as they are written.
      const w = new ChunkWriter(16);
      for (const r of input) maskDataRowInto(r, m, w, chunked);
      expect(Buffer.from(w.bytes()).equals(expected)).toBe(true);
      expect(chunked.summary()).toEqual(one.summary());
      if (rules.length) expect(Buffer.from(w.bytes()).equals(Buffer.concat(input))).toBe(false);
    });
  }

  test("a malformed row is refused as maskDataRow refuses it", () => {
    const plan = engine.plan([{ column: "ssn", method: "redact" }], cols);
    const m = pgRowMasker(
      plan,
      cols.map((c) => ({ typeOid: c.typeOid, format: 0 })),
    );
    const row = rows()[1]!;
    const truncated = row.subarray(0, row.length - 5);
    expect(() => maskDataRowInto(truncated, m, new ChunkWriter(0))).toThrow("truncated DataRow");
    expect(() => maskDataRow(truncated, m)).toThrow("truncated DataRow");
    const fewer = dataRow(["1", "2"]);
    expect(() => maskDataRowInto(fewer, m, new ChunkWriter(0))).toThrow("column count");
  });
});
