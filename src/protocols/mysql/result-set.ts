// Result-set messages (protocol_com_query_response_text_resultset): column definitions, column types and
// text rows. Pure.
import { Reader, utf8, Writer } from "./codec.ts";

// Column Definition 41 (protocol_com_query_response_text_resultset_column_definition).
export interface ColumnDef {
  schema: string;
  table: string;
  orgTable: string;
  name: string;
  orgName: string;
  charset: number;
  length: number;
  type: number;
  flags: number;
  decimals: number;
}

export function parseColumnDef(payload: Uint8Array): ColumnDef {
  const r = new Reader(payload);
  r.lenencBytes(); // catalog, always "def"
  const schema = r.lenencString();
  const table = r.lenencString();
  const orgTable = r.lenencString();
  const name = r.lenencString();
  const orgName = r.lenencString();
  r.lenenc(); // length of fixed fields, 0x0c
  const charset = r.int2();
  const length = r.int4();
  const type = r.int1();
  const flags = r.int2();
  const decimals = r.int1();
  return { schema, table, orgTable, name, orgName, charset, length, type, flags, decimals };
}

/**
 * A COM_FIELD_LIST column definition: Column Definition 41 followed by the column's default value
 * ("if command was COM_FIELD_LIST: lenenc_int length of default-values, string[$len] default values",
 * protocol_com_query_response_text_resultset_column_definition). `defaultAt` is where the default starts
 * (the payload's length when the server sent none); the default is encoded like a one-column text row.
 */
export function parseFieldListDef(payload: Uint8Array): { def: ColumnDef; defaultAt: number } {
  const def = parseColumnDef(payload);
  const r = new Reader(payload);
  for (let i = 0; i < 6; i++) r.lenencBytes(); // catalog, schema, table, org_table, name, org_name
  const fixed = r.lenenc();
  if (fixed !== 0x0c) throw new RangeError("bad column definition");
  r.bytes(12); // charset, length, type, flags, decimals, filler
  return { def, defaultAt: r.pos };
}

export function columnDefPayload(c: Omit<ColumnDef, "length"> & { length?: number }): Uint8Array {
  return new Writer()
    .lenencBytes(utf8("def"))
    .lenencBytes(utf8(c.schema))
    .lenencBytes(utf8(c.table))
    .lenencBytes(utf8(c.orgTable))
    .lenencBytes(utf8(c.name))
    .lenencBytes(utf8(c.orgName))
    .lenenc(0x0c)
    .int2(c.charset)
    .int4(c.length ?? 0)
    .int1(c.type)
    .int2(c.flags)
    .int1(c.decimals)
    .zeros(2)
    .end();
}

// Column types (enum_field_types).
export const ColumnType = {
  DECIMAL: 0x00,
  TINY: 0x01,
  SHORT: 0x02,
  LONG: 0x03,
  FLOAT: 0x04,
  DOUBLE: 0x05,
  NULL: 0x06,
  TIMESTAMP: 0x07,
  LONGLONG: 0x08,
  INT24: 0x09,
  DATE: 0x0a,
  TIME: 0x0b,
  DATETIME: 0x0c,
  YEAR: 0x0d,
  NEWDATE: 0x0e,
  VARCHAR: 0x0f,
  BIT: 0x10,
  TIMESTAMP2: 0x11,
  DATETIME2: 0x12,
  TIME2: 0x13,
  JSON: 0xf5,
  NEWDECIMAL: 0xf6,
  ENUM: 0xf7,
  SET: 0xf8,
  TINY_BLOB: 0xf9,
  MEDIUM_BLOB: 0xfa,
  LONG_BLOB: 0xfb,
  BLOB: 0xfc,
  VAR_STRING: 0xfd,
  STRING: 0xfe,
  GEOMETRY: 0xff,
} as const;

/** A text result row: each value as [start, end) in the payload, or null for NULL. */
export function textRowValues(payload: Uint8Array, count: number): ([number, number] | null)[] {
  const r = new Reader(payload);
  const out: ([number, number] | null)[] = [];
  for (let i = 0; i < count; i++) {
    if (payload[r.pos] === 0xfb) {
      r.int1();
      out.push(null);
      continue;
    }
    const n = r.lenenc();
    if (n === null) throw new RangeError("unexpected NULL marker");
    const s = r.pos;
    r.bytes(n);
    out.push([s, s + n]);
  }
  if (r.left !== 0) throw new RangeError("trailing bytes in a row");
  return out;
}
