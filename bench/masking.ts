// Microbenchmarks of the masking hot path: a 1,000-row, 10-column result (~300 bytes a row) rewritten by
// maskDataRow with no rules, with detectors that find nothing, masked by column, and with every detector
// on every column; plus the per-DataRow cost of the no-hit path. Run: bun bench/masking.ts
import { do_not_optimize, measure } from "mitata";
import type { MaskRule } from "../src/core/decision.ts";
import { MaskingEngine } from "../src/masking/engine.ts";
import { maskDataRow, pgRowMasker } from "../src/protocols/postgres/mask.ts";

const enc = new TextEncoder();

const COLUMNS = [
  { name: "id", typeOid: 23 },
  { name: "name", typeOid: 25 },
  { name: "email", typeOid: 25 },
  { name: "phone", typeOid: 25 },
  { name: "ssn", typeOid: 25 },
  { name: "card_number", typeOid: 25 },
  { name: "note", typeOid: 25 },
  { name: "order_id", typeOid: 20 },
  { name: "created_at", typeOid: 1184 },
  // numeric(12,2), as in bench/support/fixture.ts: typmod ((12 << 16) | 2) + 4 (numeric.c).
  { name: "amount", typeOid: 1700, typeMod: ((12 << 16) | 2) + 4 },
];

function dataRow(values: string[]): Uint8Array {
  const parts = values.map((v) => enc.encode(v));
  const size = 6 + parts.reduce((n, p) => n + 4 + p.length, 0);
  const out = new Uint8Array(1 + size);
  const dv = new DataView(out.buffer);
  out[0] = 0x44;
  dv.setInt32(1, size);
  dv.setInt16(5, parts.length);
  let pos = 7;
  for (const p of parts) {
    dv.setInt32(pos, p.length);
    out.set(p, pos + 4);
    pos += 4 + p.length;
  }
  return out;
}

const pad = (n: number, w: number) => String(n).padStart(w, "0");

/** Rows with regulated data in email, phone, ssn and card_number (`pii`), or with none (`clean`). */
function rows(pii: boolean): Uint8Array[] {
  return Array.from({ length: 1000 }, (_, i) =>
    dataRow([
      String(100000 + i),
      `Customer Number ${pad(i, 4)} Lovelace-Byron`,
      pii ? `customer.${i}@example-bank.com` : `customer ${i} at example-bank`,
      pii ? `(212) 555-${pad(i % 10000, 4)}` : `ext ${pad(i, 4)}`,
      pii ? `${pad(100 + (i % 600), 3)}-45-${pad(1000 + i, 4)}` : `tier-${i % 7}`,
      pii ? "4111 1111 1111 1111" : `SKU-${pad(i, 8)}`,
      `Order ${9876543210000000 + i} shipped 2024-03-${pad((i % 28) + 1, 2)} via ground, ref ${pad(i, 6)}, no issues`,
      String(9876543210000000 + i),
      `2024-03-${pad((i % 28) + 1, 2)} 10:${pad(i % 60, 2)}:00.123456+00`,
      `${i}.${pad(i % 100, 2)}`,
    ]),
  );
}

const engine = new MaskingEngine({ hmacKey: "bench-key-0123456789abcdef" });
const fields = COLUMNS.map((c) => ({ typeOid: c.typeOid, typeMod: c.typeMod ?? -1, format: 0 }));
const masker = (rules: MaskRule[]) => pgRowMasker(engine.plan(rules, COLUMNS), fields);

const BY_COLUMN: MaskRule[] = [
  { column: "ssn", method: "redact" },
  { column: "card_number", method: "partial" },
  { column: "email", method: "hash" },
  { column: "phone", method: "redact" },
];
const ALL_DETECTORS: MaskRule[] = [{ detector: "*", method: "redact" }];

const clean = rows(false);
const pii = rows(true);
const bytesOf = (rs: Uint8Array[]) => rs.reduce((n, r) => n + r.length, 0);

const cases = [
  { name: "unmasked (no rules)", rows: pii, m: masker([]) },
  { name: "detectors on all columns, no hits", rows: clean, m: masker(ALL_DETECTORS) },
  { name: "masked by column (4 of 10)", rows: pii, m: masker(BY_COLUMN) },
  { name: "detectors on all columns, 4 hits/row", rows: pii, m: masker(ALL_DETECTORS) },
  { name: "by column + detectors (default pack)", rows: pii, m: masker([...BY_COLUMN, ...ALL_DETECTORS]) },
];

console.log(
  `result: 1,000 rows x 10 columns, ${(bytesOf(pii) / 1000).toFixed(0)} B/row (pii), ${(bytesOf(clean) / 1000).toFixed(0)} B/row (clean)`,
);
console.log("| case | p50 µs / 1,000 rows | avg µs | rows/s (p50) | MB/s (p50) |");
console.log("|---|---:|---:|---:|---:|");
for (const c of cases) {
  const stats = await measure(() => {
    for (const r of c.rows) do_not_optimize(maskDataRow(r, c.m));
  });
  const s = stats.p50 / 1e9;
  const mb = bytesOf(c.rows) / 1e6;
  console.log(
    `| ${c.name} | ${(stats.p50 / 1e3).toFixed(0)} | ${(stats.avg / 1e3).toFixed(0)} | ${(1000 / s / 1e6).toFixed(2)} M | ${(mb / s).toFixed(0)} |`,
  );
}

const one = clean[0]!;
const noHit = masker(ALL_DETECTORS);
const inactive = masker([]);
const byCol = masker(BY_COLUMN);
const perRow = [
  { name: "no rules (plan inactive)", m: inactive },
  {
    name: "column rules, row read but no rule column hit",
    m: masker([{ column: "nonexistent", method: "redact" }]),
  },
  { name: "column rules on 4 columns (rewrite)", m: byCol, row: pii[0]! },
  { name: "all detectors, no hit", m: noHit },
];
console.log("\n| per DataRow | p50 ns | avg ns |");
console.log("|---|---:|---:|");
for (const p of perRow) {
  const row = p.row ?? one;
  const stats = await measure(() => do_not_optimize(maskDataRow(row, p.m)));
  console.log(`| ${p.name} | ${stats.p50.toFixed(0)} | ${stats.avg.toFixed(0)} |`);
}
