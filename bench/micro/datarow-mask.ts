// DataRow masking through src/protocols/postgres/mask.ts: a 1,000-row, 10-column result rewritten with no
// rules, masked by column, and scanned by every detector. (bench/masking.ts, owned by the masking work, has
// the fuller matrix.) Run: bun bench/micro/datarow-mask.ts
import { do_not_optimize } from "mitata";
import type { MaskRule } from "../../src/core/decision.ts";
import { MaskingEngine } from "../../src/masking/engine.ts";
import { Writer } from "../../src/protocols/postgres/codec.ts";
import { maskDataRow, pgRowMasker } from "../../src/protocols/postgres/mask.ts";
import { type MicroRow, micro, microTable } from "./measure.ts";

const COLUMNS = [
  ["id", 23],
  ["name", 25],
  ["email", 25],
  ["phone", 25],
  ["ssn", 25],
  ["card_number", 25],
  ["note", 25],
  ["order_id", 20],
  ["created_at", 1184],
  ["amount", 1700],
].map(([name, typeOid]) => ({ name: name as string, typeOid: typeOid as number }));

const enc = new TextEncoder();
const pad = (n: number, w: number) => String(n).padStart(w, "0");
const rows = Array.from({ length: 1000 }, (_, i) => {
  const values = [
    String(i + 1),
    `Customer Number ${pad(i, 4)} Lovelace-Byron`,
    `customer.${i}@example-bank.com`,
    `(212) 555-${pad(i, 4)}`,
    `${pad(100 + (i % 600), 3)}-45-${pad(1000 + i, 4)}`,
    "4111 1111 1111 1111",
    `Order ${9876543210000000 + i} shipped via ground, ref ${pad(i, 6)}, no issues`,
    String(9876543210000000 + i),
    `2024-03-01 10:${pad(i % 60, 2)}:00+00`,
    `${i}.25`,
  ];
  const w = new Writer().int16(values.length);
  for (const v of values) {
    const b = enc.encode(v);
    w.int32(b.length).bytes(b);
  }
  return w.finish("D");
});

export async function run(): Promise<MicroRow[]> {
  const engine = new MaskingEngine({ hmacKey: "bench-key-0123456789abcdef" });
  const fields = COLUMNS.map((c) => ({ typeOid: c.typeOid, format: 0 }));
  const masker = (rules: MaskRule[]) => pgRowMasker(engine.plan(rules, COLUMNS), fields);
  const byColumn: MaskRule[] = [
    { column: "ssn", method: "redact" },
    { column: "card_number", method: "partial" },
    { column: "email", method: "hash" },
  ];
  const cases: [string, MaskRule[]][] = [
    ["1,000 rows, no rules", []],
    ["1,000 rows, 3 columns masked by name", byColumn],
    ["1,000 rows, every detector on every column", [{ detector: "*", method: "redact" }]],
  ];
  const out: MicroRow[] = [];
  for (const [name, rules] of cases) {
    const m = masker(rules);
    out.push(
      await micro(
        "DataRow masking",
        name,
        () => {
          for (const r of rows) do_not_optimize(maskDataRow(r, m));
        },
        { count: rows.length, unit: "row" },
      ),
    );
  }
  return out;
}

if (import.meta.main) console.log(microTable(await run()));
