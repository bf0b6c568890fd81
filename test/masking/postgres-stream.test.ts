// Masks real PostgreSQL result streams (simple and extended protocol, text and binary, COPY) with the
// column catalog and a default-pack-like rule set, then scans every byte that would reach the client for
// the fixture's raw SSNs and card numbers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { MaskRule } from "../../src/core/decision.ts";
import { MaskingEngine } from "../../src/masking/engine.ts";
import { MaskStats } from "../../src/masking/evidence.ts";
import { ColumnCatalog } from "../../src/protocols/postgres/column-catalog.ts";
import {
  COPY_CSV,
  COPY_TEXT,
  maskCopyRow,
  maskDataRow,
  parseRowDescription,
  pgCopyMasker,
  pgRowMasker,
} from "../../src/protocols/postgres/mask.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import * as wire from "../support/raw-client.ts";

const SSNS = ["123-45-6789", "078-05-1120", "219-09-9999"];
const CARDS = ["4111111111111111", "5500 0000 0000 0004", "3782-822463-10005", "4012 8888 8888 1881"];
const RAW = [
  ...SSNS,
  ...CARDS,
  ...CARDS.map((c) => c.replace(/\D/g, "")),
  ...SSNS.map((s) => s.replace(/\D/g, "")),
];

const RULES: MaskRule[] = [
  { column: "ssn", method: "redact" },
  { column: "card_number", method: "partial" },
  { column: "email", method: "hash" },
  { detector: "*", method: "redact" },
];

const dec = new TextDecoder();
let pg: PgServer;
let raw: wire.RawClient;
let catalog: ColumnCatalog;
const engine = new MaskingEngine({ hmacKey: "stream-test-key-0123456789" });

beforeAll(async () => {
  pg = await startPostgres();
  pg.sql(
    `create table customers (id int primary key, name text, ssn text, email text, card_number text, note text,
       order_id bigint, phone_int bigint, balance numeric, profile jsonb);
     insert into customers values
       (1, 'Ada', '123-45-6789', 'ada@example.com', '4111111111111111', 'paid with 4012 8888 8888 1881',
        9876543210987654, 5551234, 4111111111111111, '{"pan": "5500 0000 0000 0004", "n": 1}'),
       (2, 'Bob', '078-05-1120', 'bob@example.org', '5500 0000 0000 0004', 'ssn 219-09-9999 on file',
        4111111111111112, 2125550123, 12.50, '{"tags": ["vip"]}'),
       (3, 'Cy', '219-09-9999', null, '3782-822463-10005', null, 42, null, null, null);
     create table orders (id int, customer_id int, total numeric);
     insert into orders values (10, 1, 99.95), (11, 2, 5);
     create view v_customers as select id, ssn as tax, card_number as pan, upper(name) as uname from customers;`,
    pg.database,
  );
  raw = await wire.trusted(
    pg.port,
    { user: pg.roles.trust.user, database: pg.database },
    { keepBytes: false },
  );
  catalog = new ColumnCatalog({
    host: pg.host,
    port: pg.port,
    user: pg.roles.scram.user,
    password: pg.roles.scram.password,
    database: pg.database,
  });
}, 60_000);

afterAll(async () => {
  raw?.quit();
  await catalog?.close();
  await pg?.stop();
});

/** Runs a query and masks its stream as the gateway would; returns what the client would receive. */
async function through(sql: string, binary = false) {
  if (binary)
    raw.send(wire.parse("", sql), wire.bind("", [], [1]), wire.describe("P"), wire.execute(), wire.sync());
  const got = binary ? await raw.untilReady() : await raw.simpleQuery(sql);
  const msgs = got.map((m) => ({ type: m.type, bytes: wire.frame(m) }));
  const err = msgs.find((m) => m.type === "E");
  if (err) throw new Error(dec.decode(err.bytes));
  const desc = msgs.find((m) => m.type === "T")!;
  const fields = parseRowDescription(desc.bytes);
  const sources = await catalog.resolve(fields);
  const columns = fields.map((f, i) => ({ name: f.name, source: sources[i] }));
  const plan = engine.plan(RULES, columns);
  const masker = pgRowMasker(plan, fields);
  const stats = new MaskStats(plan, columns);
  const out = msgs.map((m) => (m.type === "D" ? maskDataRow(m.bytes, masker, stats) : m.bytes));
  const rows = out
    .filter((b) => b[0] === 0x44)
    .map((b) => {
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const vals: (Uint8Array | null)[] = [];
      let pos = 7;
      for (let i = 0; i < dv.getInt16(5); i++) {
        const len = dv.getInt32(pos);
        pos += 4;
        vals.push(len < 0 ? null : b.subarray(pos, pos + len));
        pos += Math.max(len, 0);
      }
      return vals;
    });
  const text = rows.map((r) => r.map((v) => (v === null ? null : dec.decode(v))));
  return { msgs, out, rows, text, stats };
}

function expectNoRawValues(chunks: Uint8Array[]) {
  const all = Buffer.concat(chunks);
  for (const value of RAW) expect({ value, at: all.indexOf(value) }).toEqual({ value, at: -1 });
}

describe("masking real PostgreSQL result streams", () => {
  test("aliased sensitive columns are masked by their source column", async () => {
    const r = await through("select ssn as x, id, email as contact from customers order by id");
    expect(r.text.map((row) => row[0])).toEqual(["[REDACTED]", "[REDACTED]", "[REDACTED]"]);
    expect(r.text[0]![2]).toMatch(/^hmac:[0-9a-f]{16}$/);
    expect(r.text[2]![2]).toBeNull();
    expectNoRawValues(r.out);
    expect(r.stats.summary().columns.map((c) => [c.column, c.source, c.values])).toEqual([
      ["x", "public.customers.ssn", 3],
      ["contact", "public.customers.email", 2],
    ]);
  });

  test("select * with joins, and detectors on columns with innocent names", async () => {
    const r = await through(
      "select c.*, o.total from customers c join orders o on o.customer_id = c.id order by c.id",
    );
    expectNoRawValues(r.out);
    const byName = (row: (string | null)[], name: string) => row[colIndex(r, name)];
    expect(byName(r.text[0]!, "card_number")).toBe("************1111");
    expect(byName(r.text[0]!, "note")).toBe("paid with [REDACTED]");
    expect(byName(r.text[1]!, "note")).toBe("ssn [REDACTED] on file");
    expect(JSON.parse(byName(r.text[0]!, "profile")!)).toEqual({ n: 1, pan: "[REDACTED]" });
    // Validated detectors leave order ids that fail Luhn and short integers alone; a bare 10-digit
    // number in a column named like a phone is one (sensitive-names.ts), and a bigint cannot hold a
    // placeholder: NULL.
    expect(byName(r.text[0]!, "order_id")).toBe("9876543210987654");
    expect(byName(r.text[1]!, "order_id")).toBe("4111111111111112");
    expect(byName(r.text[0]!, "phone_int")).toBe("5551234");
    expect(byName(r.text[1]!, "phone_int")).toBeNull();
    // A Luhn-valid card number held in a numeric column cannot carry a placeholder: it becomes NULL.
    expect(byName(r.text[0]!, "balance")).toBeNull();
    expect(byName(r.text[1]!, "balance")).toBe("12.50");
    expect(byName(r.text[0]!, "total")).toBe("99.95");
  });

  test("a row with nothing to mask is forwarded as the same bytes", async () => {
    const r = await through(
      "select c.id, order_id, total from customers c join orders o on o.customer_id = c.id",
    );
    const before = r.msgs.filter((m) => m.type === "D").map((m) => m.bytes);
    const after = r.out.filter((b) => b[0] === 0x44);
    expect(after.length).toBe(2);
    after.forEach((b, i) => {
      expect(b).toBe(before[i]!);
    });
  });

  test("views resolve to the underlying columns", async () => {
    const r = await through("select tax, pan, uname from v_customers order by id");
    expectNoRawValues(r.out);
    expect(r.text.map((row) => row[0])).toEqual(["[REDACTED]", "[REDACTED]", "[REDACTED]"]);
    expect(r.text[2]![1]).toBe("****-******-*0005");
    expect(r.text[0]![2]).toBe("ADA");
  });

  test("expressions over sensitive columns are still caught by the detectors", async () => {
    const r = await through(
      "select ssn || '' as s, upper(note) as n, row_to_json(c)::text as j from customers c",
    );
    expectNoRawValues(r.out);
  });

  test("binary format: strings masked in place, numbers nulled on a hit, NULLs kept", async () => {
    const r = await through(
      "select id, ssn as x, card_number, order_id, balance, note, email from customers order by id",
      true,
    );
    expect(parseRowDescription(r.msgs.find((m) => m.type === "T")!.bytes).every((f) => f.format === 1)).toBe(
      true,
    );
    expectNoRawValues(r.out);
    expect(r.text.map((row) => row[1])).toEqual(["[REDACTED]", "[REDACTED]", "[REDACTED]"]);
    expect(r.text[0]![2]).toBe("************1111");
    const int8 = (b: Uint8Array | null) => new DataView(b!.buffer, b!.byteOffset, 8).getBigInt64(0);
    expect(int8(r.rows[0]![3]!)).toBe(9876543210987654n);
    expect(r.rows[0]![4]).toBeNull(); // numeric 4111111111111111
    expect(r.rows[1]![4]).not.toBeNull(); // numeric 12.50
    expect(r.rows[2]![5]).toBeNull(); // NULL stays NULL
    expect(r.text[2]![6]).toBeNull();
  });

  test("per-type detector plan: cards in float8, int8 and numeric still nulled; typed look-alikes kept", async () => {
    // float8out prints a 15-digit integer without an exponent: the Amex number reaches the client as is.
    const sql = `select 378282246310005::float8 as reading, 4111111111111111::int8 as ref,
      4111111111111111::numeric(20,0) as amt, 1234567890.25::numeric(12,2) as amount, 178051120::int4 as id,
      'ada@example.com'::varchar(40) as contact, 2.5::float8 as ratio`;
    for (const binary of [false, true]) {
      const r = await through(sql, binary);
      const all = Buffer.concat(r.out);
      for (const v of ["378282246310005", "4111111111111111", "ada@example.com"])
        expect(all.indexOf(v)).toBe(-1);
      const row = r.rows[0]!;
      expect([row[0], row[1], row[2]]).toEqual([null, null, null]);
      expect(row[3]).not.toBeNull();
      expect(row[4]).not.toBeNull();
      expect(r.text[0]![5]).toBe("[REDACTED]");
      expect(row[6]).not.toBeNull();
      if (!binary)
        expect([r.text[0]![3], r.text[0]![4], r.text[0]![6]]).toEqual(["1234567890.25", "178051120", "2.5"]);
    }
  });

  test("multi-megabyte values", async () => {
    pg.sql(
      "insert into customers (id, note) values (100, repeat('x', 3000000) || ' 4111-1111-1111-1111 ' || repeat('y', 10))",
      pg.database,
    );
    try {
      const r = await through("select id, note from customers where id = 100");
      expectNoRawValues(r.out);
      expect(r.text[0]![1]!.length).toBe(3_000_000 + " [REDACTED] ".length + 10);
    } finally {
      pg.sql("delete from customers where id = 100", pg.database);
    }
  });

  test("COPY TO STDOUT in text and CSV", async () => {
    const columnsOf = async (sql: string) => {
      const { msgs } = { msgs: await raw.simpleQuery(`${sql} limit 0`) };
      const fields = parseRowDescription(wire.frame(msgs.find((m) => m.type === "T")!));
      const sources = await catalog.resolve(fields);
      const columns = fields.map((f, i) => ({ name: f.name, source: sources[i] }));
      return { plan: engine.plan(RULES, columns), types: fields.map((f) => f.typeOid) };
    };
    const { plan, types } = await columnsOf("select * from customers");
    const masker = pgCopyMasker(plan, types);
    for (const [sql, format] of [
      ["copy customers to stdout", COPY_TEXT],
      ["copy customers to stdout with (format csv)", COPY_CSV],
    ] as const) {
      const msgs = await raw.simpleQuery(sql);
      const data = msgs.filter((m) => m.type === "d");
      expect(data.length).toBe(3);
      const masked = data.map((m) => maskCopyRow(m.body, masker, format));
      expectNoRawValues(masked);
      const lines = masked.map((b) => dec.decode(b));
      expect(lines[0]!.split(format.csv ? "," : "\t")[2]).toBe("[REDACTED]");
      expect(lines[0]).toContain("9876543210987654");
    }
  });
});

function colIndex(r: { msgs: { type: string; bytes: Uint8Array }[] }, name: string): number {
  return parseRowDescription(r.msgs.find((m) => m.type === "T")!.bytes).findIndex((f) => f.name === name);
}
