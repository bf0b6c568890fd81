import { describe, expect, test } from "bun:test";
import type { MaskRule } from "../../core/decision.ts";
import { MaskingEngine } from "../../masking/engine.ts";
import { MaskStats } from "../../masking/evidence.ts";
import type { ResultColumn } from "../../masking/plan.ts";
import {
  COPY_CSV,
  COPY_TEXT,
  maskCopyRow,
  maskDataRow,
  parseRowDescription,
  pgCopyMasker,
  pgRowMasker,
} from "./mask.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const engine = new MaskingEngine({ hmacKey: "test-key-0123456789abcdef" });

type Value = string | Uint8Array | null;

function dataRow(values: Value[]): Uint8Array {
  const parts = values.map((v) => (typeof v === "string" ? enc.encode(v) : v));
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

/** Decodes a DataRow back, checking every length adds up to the message length. */
function values(msg: Uint8Array): (Uint8Array | null)[] {
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  expect(msg[0]).toBe(0x44);
  expect(dv.getInt32(1)).toBe(msg.length - 1);
  const out: (Uint8Array | null)[] = [];
  let pos = 7;
  for (let i = 0, n = dv.getInt16(5); i < n; i++) {
    const len = dv.getInt32(pos);
    pos += 4;
    out.push(len === -1 ? null : msg.subarray(pos, pos + len));
    if (len > 0) pos += len;
  }
  expect(pos).toBe(msg.length);
  return out;
}

const text = (msg: Uint8Array) => values(msg).map((v) => (v === null ? null : dec.decode(v)));

function masker(rules: MaskRule[], cols: (ResultColumn & { typeOid?: number; format?: number })[]) {
  const plan = engine.plan(rules, cols);
  const m = pgRowMasker(
    plan,
    cols.map((c) => ({ typeOid: c.typeOid ?? 25, format: c.format ?? 0 })),
  );
  return { m, stats: new MaskStats(plan, cols) };
}

describe("parseRowDescription", () => {
  test("reads names, table OIDs, attribute numbers, types and formats", () => {
    const fields = [
      { name: "id", tableOid: 16384, column: 1, typeOid: 23, typeMod: -1, format: 0 },
      { name: "ssn", tableOid: 16384, column: 3, typeOid: 25, typeMod: -1, format: 1 },
    ];
    const body: number[] = [];
    const push = (n: number, bytes: number) => {
      for (let k = bytes - 1; k >= 0; k--) body.push((n >>> (k * 8)) & 0xff);
    };
    push(fields.length, 2);
    for (const f of fields) {
      body.push(...enc.encode(f.name), 0);
      push(f.tableOid, 4);
      push(f.column, 2);
      push(f.typeOid, 4);
      push(-1, 2);
      push(-1, 4);
      push(f.format, 2);
    }
    const msg = new Uint8Array([0x54, 0, 0, 0, 0, ...body]);
    new DataView(msg.buffer).setInt32(1, msg.length - 1);
    expect(parseRowDescription(msg)).toEqual(fields);
    expect(() => parseRowDescription(msg.subarray(0, msg.length - 3))).toThrow("truncated RowDescription");
    expect(() => parseRowDescription(dataRow([]))).toThrow("not a RowDescription");
  });
});

describe("maskDataRow", () => {
  const cols = [
    { name: "id" },
    { name: "x", source: { schema: "public", table: "customers", column: "ssn" } },
  ];

  test("returns the same bytes when the plan is empty", () => {
    const { m } = masker([], cols);
    const row = dataRow(["1", "123-45-6789"]);
    expect(maskDataRow(row, m)).toBe(row);
  });

  test("returns the same bytes when detectors find nothing", () => {
    const { m, stats } = masker(
      [{ detector: "*", method: "redact" }],
      [{ name: "note" }, { name: "order_id" }],
    );
    const row = dataRow(["order 4111111111111112 shipped 2024-01-15", "1234567890123456"]);
    expect(maskDataRow(row, m, stats)).toBe(row);
    expect(stats.summary()).toMatchObject({ rows: 1, rowsMasked: 0 });
  });

  test("masks an aliased source column and fixes lengths", () => {
    const { m, stats } = masker([{ column: "ssn", method: "redact" }], cols);
    const row = dataRow(["1", "123-45-6789"]);
    const out = maskDataRow(row, m, stats);
    expect(out).not.toBe(row);
    expect(text(out)).toEqual(["1", "[REDACTED]"]);
    expect(stats.summary().columns).toEqual([
      { index: 1, column: "x", source: "public.customers.ssn", rule: "ssn", method: "redact", values: 1 },
    ]);
    expect(stats.summary().cells).toEqual([0, 1]);
  });

  test("NULL stays NULL and is not counted", () => {
    const { m, stats } = masker([{ column: "ssn", method: "redact" }], cols);
    const row = dataRow(["1", null]);
    expect(maskDataRow(row, m, stats)).toBe(row);
    expect(stats.columnValues[1]).toBe(0);
    expect(stats.summary().cells).toEqual([]);
  });

  test("detector hits are counted per column and the changed cells are listed by row", () => {
    const { m, stats } = masker([{ detector: "*", method: "redact" }], [{ name: "a" }, { name: "b" }]);
    maskDataRow(dataRow(["nothing", "mail ann@example.com"]), m, stats);
    maskDataRow(dataRow(["card 4111111111111111", "plain"]), m, stats);
    const s = stats.summary();
    expect(s.cells).toEqual([0, 1, 1, 0]);
    expect(s.detectorColumns.map((d) => [d.index, d.column, d.detector, d.values])).toEqual([
      [0, "a", "card", 1],
      [1, "b", "email", 1],
    ]);
    expect(s.detectors.filter((d) => d.values > 0).map((d) => d.detector)).toEqual(
      expect.arrayContaining(["card", "email"]),
    );
  });

  test("partial, hash and null methods", () => {
    const three = [{ name: "card" }, { name: "email" }, { name: "ssn" }];
    const { m } = masker(
      [
        { column: "card", method: "partial" },
        { column: "email", method: "hash" },
        { column: "ssn", method: "null" },
      ],
      three,
    );
    const out = text(maskDataRow(dataRow(["4111-1111-1111-1234", "ada@example.com", "123-45-6789"]), m));
    expect(out[0]).toBe("****-****-****-1234");
    expect(out[1]).toMatch(/^hmac:[0-9a-f]{16}$/);
    expect(out[2]).toBeNull();
    // Stable: the same value hashes alike on another row, so joins and GROUP BY still work.
    expect(text(maskDataRow(dataRow(["x", "ada@example.com", null]), m))[1]).toBe(out[1]!);
  });

  test("detectors replace spans inside text and leave the rest", () => {
    const { m, stats } = masker(
      [
        { detector: "card", method: "partial" },
        { detector: "email", method: "redact" },
      ],
      [{ name: "note" }],
    );
    const out = text(
      maskDataRow(dataRow(["paid 4111 1111 1111 1111, receipt to ada@example.com."]), m, stats),
    );
    expect(out[0]).toBe("paid **** **** **** 1111, receipt to [REDACTED].");
    expect(stats.summary().detectors).toEqual([
      { detector: "card", method: "partial", values: 1 },
      { detector: "email", method: "redact", values: 1 },
    ]);
  });

  test("a detector with method null nulls the whole value", () => {
    const { m } = masker([{ detector: "ssn", method: "null" }], [{ name: "note" }, { name: "n" }]);
    expect(text(maskDataRow(dataRow(["ssn 123-45-6789", "7"]), m))).toEqual([null, "7"]);
  });

  test("number columns become NULL on a hit, in text and binary", () => {
    const cols2 = [
      { name: "a", typeOid: 20, format: 0 },
      { name: "b", typeOid: 20, format: 1 },
      { name: "c", typeOid: 1700, format: 1 },
      { name: "d", typeOid: 20, format: 1 },
    ];
    const { m } = masker([{ detector: "*", method: "redact" }], cols2);
    const int8 = (n: bigint) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigInt64(0, n);
      return b;
    };
    // numeric 4111111111111111: ndigits 4, weight 3, sign +, dscale 0, digits 4111 1111 1111 1111
    const numeric = new Uint8Array(16);
    const ndv = new DataView(numeric.buffer);
    for (const [k, v] of [4, 3, 0, 0, 4111, 1111, 1111, 1111].entries()) ndv.setInt16(k * 2, v);
    const row = dataRow(["4111111111111111", int8(4111111111111111n), numeric, int8(4111111111111112n)]);
    const out = values(maskDataRow(row, m));
    expect(out.slice(0, 3)).toEqual([null, null, null]);
    expect(out[3]).toEqual(int8(4111111111111112n));
    const clean = dataRow(["1234567890123456", int8(42n), numeric.slice(0, 8), int8(7n)]);
    expect(maskDataRow(clean, m)).toBe(clean);
  });

  test("whole-value masks on non-string types become NULL", () => {
    const { m } = masker(
      [
        { column: "dob", method: "redact" },
        { column: "acct", method: "hash" },
      ],
      [
        { name: "dob", typeOid: 1082 },
        { name: "acct", typeOid: 20 },
        { name: "name", typeOid: 25 },
      ],
    );
    expect(text(maskDataRow(dataRow(["1990-01-01", "123456", "Ada"]), m))).toEqual([null, null, "Ada"]);
  });

  test("binary text columns are masked like text; binary opaque columns are nulled under detectors", () => {
    const { m } = masker(
      [{ detector: "email", method: "redact" }],
      [
        { name: "a", typeOid: 1043, format: 1 },
        { name: "b", typeOid: 1009, format: 1 },
        { name: "c", typeOid: 1009, format: 0 },
      ],
    );
    const out = text(maskDataRow(dataRow(["ada@example.com", "\x00\x00\x00\x01", "{ada@example.com}"]), m));
    expect(out).toEqual(["[REDACTED]", null, "{[REDACTED]}"]);
  });

  test("json stays valid JSON", () => {
    const { m } = masker(
      [
        { detector: "card", method: "redact" },
        { column: "doc", method: "hash" },
      ],
      [
        { name: "j", typeOid: 114 },
        { name: "jb", typeOid: 3802, format: 1 },
        { name: "doc", typeOid: 3802, format: 1 },
      ],
    );
    const jb = (s: string) => new Uint8Array([1, ...enc.encode(s)]);
    const out = values(
      maskDataRow(
        dataRow([
          '{"pan": 4111111111111111, "n": "4111 1111 1111 1111"}',
          jb("[4111111111111111]"),
          jb("{}"),
        ]),
        m,
      ),
    );
    const j = JSON.parse(dec.decode(out[0]!));
    expect(j).toEqual({ pan: "[REDACTED]", n: "[REDACTED]" });
    expect(out[1]![0]).toBe(1);
    expect(JSON.parse(dec.decode(out[1]!.subarray(1)))).toEqual(["[REDACTED]"]);
    expect(out[2]![0]).toBe(1);
    expect(JSON.parse(dec.decode(out[2]!.subarray(1)))).toMatch(/^hmac:/);
  });

  test("a multi-megabyte value: no hit forwards the same bytes, a hit rewrites once", () => {
    const { m } = masker(
      [{ detector: "*", method: "redact" }],
      [{ name: "id" }, { name: "blob" }, { name: "z" }],
    );
    const big = "lorem ipsum 12345 ".repeat(250_000); // 4.5 MB
    const clean = dataRow(["1", big, null]);
    expect(maskDataRow(clean, m)).toBe(clean);
    const dirty = dataRow(["1", `${big}card 4111111111111111 end${big}`, null]);
    const out = text(maskDataRow(dirty, m));
    expect(out[1]).toBe(`${big}card [REDACTED] end${big}`);
    expect(out[2]).toBeNull();
  });

  test("rows that disagree with the plan or are truncated fail closed", () => {
    const { m } = masker([{ column: "ssn", method: "redact" }], cols);
    expect(() => maskDataRow(dataRow(["1"]), m)).toThrow("column count differs");
    const row = dataRow(["1", "123-45-6789"]);
    expect(() => maskDataRow(row.subarray(0, row.length - 2), m)).toThrow("truncated DataRow");
    expect(() => maskDataRow(enc.encode("Xabcdefg"), m)).toThrow("not a DataRow");
  });

  test("hash without a key degrades to redact", () => {
    const plan = new MaskingEngine().plan([{ column: "email", method: "hash" }], [{ name: "email" }]);
    const m = pgRowMasker(plan, [{ typeOid: 25, format: 0 }]);
    expect(text(maskDataRow(dataRow(["ada@example.com"]), m))).toEqual(["[REDACTED]"]);
  });
});

describe("maskCopyRow", () => {
  const copy = (rules: MaskRule[], names: string[]) =>
    pgCopyMasker(
      engine.plan(
        rules,
        names.map((name) => ({ name })),
      ),
    );

  test("text format: same bytes without a hit, NULL marker and escapes handled", () => {
    const m = copy(
      [
        { column: "ssn", method: "redact" },
        { detector: "email", method: "redact" },
      ],
      ["id", "ssn", "note"],
    );
    const clean = enc.encode("1\t\\N\tno contact\n");
    expect(maskCopyRow(clean, m)).toBe(clean);
    const out = maskCopyRow(enc.encode("1\t123-45-6789\tline1\\nmail ada@example.com\\tend\n"), m);
    expect(dec.decode(out)).toBe("1\t[REDACTED]\tline1\\nmail [REDACTED]\\tend\n");
  });

  test("text format: partial over an escaped value re-escapes what it keeps", () => {
    const m = copy([{ column: "v", method: "partial" }], ["v"]);
    expect(dec.decode(maskCopyRow(enc.encode("ab\\\\cdefgh\\t\n"), m))).toBe("**\\\\**efgh\\t\n");
  });

  test("text format: null method writes the NULL marker", () => {
    const m = copy([{ column: "ssn", method: "null" }], ["ssn", "n"]);
    expect(dec.decode(maskCopyRow(enc.encode("123-45-6789\t2\n"), m))).toBe("\\N\t2\n");
  });

  test("csv format: quoted fields are unquoted, masked and quoted again", () => {
    const m = copy(
      [
        { detector: "card", method: "partial" },
        { column: "ssn", method: "null" },
      ],
      ["id", "note", "ssn"],
    );
    const out = maskCopyRow(enc.encode('7,"card ""4111 1111 1111 1111"", ok",123-45-6789\n'), m, COPY_CSV);
    expect(dec.decode(out)).toBe('7,"card ""**** **** **** 1111"", ok",\n');
    const clean = enc.encode('7,"a, b",\n');
    expect(maskCopyRow(clean, m, COPY_CSV)).toBe(clean);
  });

  test("rows that disagree with the plan fail closed", () => {
    const m = copy([{ column: "ssn", method: "redact" }], ["id", "ssn"]);
    expect(() => maskCopyRow(enc.encode("1\n"), m, COPY_TEXT)).toThrow("fewer fields");
    expect(() => maskCopyRow(enc.encode("1\t2\t3\n"), m, COPY_TEXT)).toThrow("more fields");
    expect(() => maskCopyRow(enc.encode('1,"abc\n'), m, COPY_CSV)).toThrow("unterminated CSV quote");
  });
});

describe("masked cells listed for the replay", () => {
  test("only the first rows of a result, and a bounded number of cells", () => {
    const wide = Array.from({ length: 40 }, (_, i) => ({ name: `ssn_${i}` }));
    const { m, stats } = masker([{ column: "ssn", method: "redact" }], wide);
    const row = dataRow(wide.map(() => "123-45-6789"));
    for (let r = 0; r < 150; r++) maskDataRow(row, m, stats);
    const s = stats.summary();
    expect(s.rowsMasked).toBe(150);
    expect(s.columns[0]!.values).toBe(150);
    // 40 cells a row: 2,000 cells are the first 50 rows.
    expect(s.cells.length).toBe(2 * 2_000);
    expect(s.cells[s.cells.length - 2]).toBe(49);
  });
});
