// Masks PostgreSQL result streams in place: DataRow messages and COPY TO STDOUT rows. A row with nothing
// to mask is returned as the same Uint8Array (forwarded untouched); a row with a hit is rebuilt once
// with its lengths fixed up. The column plan and each column's type class are computed once per
// RowDescription; the per-row path indexes arrays.
//
// Per type (by type OID), what a mask becomes, in text (0) and binary (1) format:
// - string (text 25, varchar 1043, bpchar 1042, name 19, "char" 18, xml 142, unknown 705, plus any OID
//   the caller declares, e.g. citext or enums): methods replace the bytes, detectors replace spans.
//   The bytes are the same in both formats.
// - json 114 / jsonb 3802 (binary jsonb = version byte 1 + text): whole-value masks become a JSON string
//   (`"[REDACTED]"`, `"hmac:…"`; `partial` is written as redact since it would break the syntax);
//   detector hits outside a JSON string are written as a JSON string, so the value stays valid JSON.
// - number (int2 21, int4 23, int8 20, oid 26, numeric 1700): no placeholder parses as a number, so any
//   mask or detector hit makes the value NULL. Detectors read the text form; in binary the value is
//   decoded first. Only detectors that can match digits of that width run (mask-columns.ts): a card
//   in an int8 or a numeric, an SSN or phone written as bare digits in a column named like one.
// - float (float4 700, float8 701): as number. float8out writes up to 15 integer digits without an
//   exponent (a 15-digit card prints as itself), so every detector runs; binary is decoded first.
// - bytea 17: whole-value masks make it NULL; detectors scan raw bytes in binary and are skipped in text
//   (hex output carries no readable digits).
// - safe: cannot hold the shapes detectors look for, so detectors skip them; whole-value masks make
//   them NULL. bool 16 (t/f, or one byte); date 1082, time 1083, timetz 1266, timestamp(tz) 1114/1184
//   (digit groups of 4-2-2 / 2:2:2, never 13+ digits or 3-2-4); interval 1186 (numbers joined by unit
//   words or `:`; sql_standard `Y-M D H:M:S` never 3-2-4); uuid 2950 (hex 8-4-4-4-12); inet 869, cidr
//   650, macaddr 829/774 (dotted/colon-separated bytes); money 790 (cash_out always groups integer
//   digits by a separator, so no 9+ digit run); pg_lsn 3220 (hex X/X). Binary forms
//   are fixed-width encodings of the same values.
// - anything else (arrays, records, ranges, unknown or user types): text format is scanned as text;
//   binary is opaque, so a whole-value mask or any active detector makes the value NULL (fail closed).
import { CustosError } from "../../core/errors.ts";
import type { MaskStats } from "../../masking/evidence.ts";
import {
  COPY,
  copyBytes,
  jsonOutsideString,
  LIT,
  materialize,
  methodPieces,
  type Piece,
  piecesLength,
  spanPieces,
  writePieces,
} from "../../masking/pieces.ts";
import type { MaskPlan } from "../../masking/plan.ts";
import { type ActiveDetector, scanValue } from "../../masking/scan.ts";
import { columnDetectors } from "./mask-columns.ts";

export const TypeClass = {
  String: 0,
  Json: 1,
  Jsonb: 2,
  Number: 3,
  Bytea: 4,
  Safe: 5,
  Opaque: 6,
  Float: 7,
} as const;
export type TypeClass = (typeof TypeClass)[keyof typeof TypeClass];

const CLASS_BY_OID = new Map<number, TypeClass>([
  [25, TypeClass.String],
  [1043, TypeClass.String],
  [1042, TypeClass.String],
  [19, TypeClass.String],
  [18, TypeClass.String],
  [142, TypeClass.String],
  [705, TypeClass.String],
  [114, TypeClass.Json],
  [3802, TypeClass.Jsonb],
  [21, TypeClass.Number],
  [23, TypeClass.Number],
  [20, TypeClass.Number],
  [1700, TypeClass.Number],
  [26, TypeClass.Number],
  [700, TypeClass.Float],
  [701, TypeClass.Float],
  [17, TypeClass.Bytea],
  ...[16, 1082, 1083, 1114, 1184, 1186, 1266, 2950, 869, 650, 829, 774, 790, 3220].map(
    (oid) => [oid, TypeClass.Safe] as [number, TypeClass],
  ),
]);

export function typeClass(typeOid: number, stringOids?: ReadonlySet<number>): TypeClass {
  return CLASS_BY_OID.get(typeOid) ?? (stringOids?.has(typeOid) ? TypeClass.String : TypeClass.Opaque);
}

/** The RowDescription fields mask.ts needs (structurally compatible with codec.ts's FieldDescription). */
export interface RowField {
  name: string;
  tableOid: number;
  column: number;
  typeOid: number;
  /** The type modifier (-1: none): varchar(n)'s n + 4, numeric(p,s)'s packed precision and scale. */
  typeMod?: number;
  format: number;
}

// 'T' RowDescription, protocol-message-formats: Int16 count, then per field String name, Int32 table
// OID, Int16 attribute number, Int32 type OID, Int16 type size, Int32 type modifier, Int16 format code.
export function parseRowDescription(msg: Uint8Array): RowField[] {
  const dv = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  if (msg[0] !== 0x54 || msg.length < 7) throw malformed("not a RowDescription");
  const n = dv.getInt16(5);
  const fields: RowField[] = [];
  let pos = 7;
  for (let i = 0; i < n; i++) {
    const nul = msg.indexOf(0, pos);
    if (nul === -1 || nul + 19 > msg.length) throw malformed("truncated RowDescription");
    fields.push({
      name: new TextDecoder().decode(msg.subarray(pos, nul)),
      tableOid: dv.getUint32(nul + 1),
      column: dv.getInt16(nul + 5),
      typeOid: dv.getUint32(nul + 7),
      typeMod: dv.getInt32(nul + 13),
      format: dv.getInt16(nul + 17),
    });
    pos = nul + 19;
  }
  return fields;
}

function malformed(message: string): CustosError {
  return new CustosError("upstream.protocol", `masking: ${message}`);
}

export interface PgRowMasker {
  readonly plan: MaskPlan;
  readonly classes: Uint8Array;
  /** 0 text, 1 binary, per column. */
  readonly formats: Uint8Array;
  /** Per column, the plan's detectors its type can satisfy (mask-columns.ts). */
  readonly detectors: readonly (readonly ActiveDetector[])[];
  /** Per column, the type OID (binary oid is unsigned, int4 signed). */
  readonly oids: Uint32Array;
}

/**
 * Prepares masking for one result description. `formats` overrides the RowDescription's format codes:
 * a statement Describe reports 0, the real codes come from Bind (one code applies to all columns).
 */
export function pgRowMasker(
  plan: MaskPlan,
  fields: readonly { typeOid: number; typeMod?: number; format: number }[],
  opts: { formats?: readonly number[]; stringTypeOids?: ReadonlySet<number> } = {},
): PgRowMasker {
  if (fields.length !== plan.columns.length) throw malformed("plan and row description disagree");
  const classes = new Uint8Array(fields.length);
  const formats = new Uint8Array(fields.length);
  const oids = new Uint32Array(fields.length);
  const f = opts.formats;
  const detectors = fields.map((field, i) => {
    classes[i] = typeClass(field.typeOid, opts.stringTypeOids);
    formats[i] = (f ? (f.length === 1 ? f[0] : f[i]) : field.format) === 1 ? 1 : 0;
    oids[i] = field.typeOid;
    return columnDetectors(plan, i, field.typeOid, field.typeMod ?? -1);
  });
  return { plan, classes, formats, detectors, oids };
}

interface Edit {
  lenAt: number;
  start: number;
  end: number;
  pieces: Piece[] | null;
}

const spans: number[] = [];
const digitScratch = new Uint8Array(160);
const NULL_VALUE = null;
const JSON_REDACTED = new TextEncoder().encode('"[REDACTED]"');

/**
 * Masks one value of column i in src[s, e). Returns undefined when unchanged, null for SQL NULL, or the
 * pieces of the replacement.
 */
export function maskValue(
  m: PgRowMasker,
  i: number,
  src: Uint8Array,
  s: number,
  e: number,
  stats?: MaskStats,
): Piece[] | null | undefined {
  const col = m.plan.columns[i]!;
  const cls = m.classes[i]! as TypeClass;
  const binary = m.formats[i] === 1;
  const hasher = m.plan.hasher;
  if (col.method !== null) {
    if (stats) stats.columnValues[i]!++;
    if (col.method === "null") return NULL_VALUE;
    if (cls === TypeClass.String) {
      const out: Piece[] = [];
      methodPieces(col.method, src, s, e, hasher, false, out);
      return out;
    }
    if (cls === TypeClass.Json || cls === TypeClass.Jsonb) {
      const lit = col.method === "hash" && hasher ? quoteJson(hasher.hash(src, s, e)) : JSON_REDACTED;
      const out: Piece[] = [];
      if (cls === TypeClass.Jsonb && binary) out.push({ kind: COPY, s, e: Math.min(s + 1, e) }); // version
      out.push({ kind: LIT, s, e, lit });
      return out;
    }
    return NULL_VALUE; // no placeholder parses as this type
  }
  const detectors = m.detectors[i]!;
  if (detectors.length === 0) return undefined;
  const hits = stats?.columnDetectorHits[i];
  switch (cls) {
    case TypeClass.Safe:
      return undefined;
    case TypeClass.Number: {
      if (!binary)
        return scanValue(src, s, e, detectors, col.flags, spans, hits) > 0 ? NULL_VALUE : undefined;
      const n = numberText(src, s, e, digitScratch, m.oids[i] === OID_TYPE);
      if (n < 0) return undefined;
      return scanValue(digitScratch, 0, n, detectors, col.flags, spans, hits) > 0 ? NULL_VALUE : undefined;
    }
    case TypeClass.Float: {
      if (!binary)
        return scanValue(src, s, e, detectors, col.flags, spans, hits) > 0 ? NULL_VALUE : undefined;
      const n = floatText(src, s, e, digitScratch);
      if (n < 0) return NULL_VALUE; // not 4 or 8 bytes: unreadable, withheld
      return scanValue(digitScratch, 0, n, detectors, col.flags, spans, hits) > 0 ? NULL_VALUE : undefined;
    }
    case TypeClass.Bytea:
      if (!binary) return undefined;
      break;
    case TypeClass.Opaque:
      if (binary) return NULL_VALUE;
      break;
    case TypeClass.Json:
    case TypeClass.Jsonb: {
      const from = cls === TypeClass.Jsonb && binary ? Math.min(s + 1, e) : s;
      if (scanValue(src, from, e, detectors, col.flags, spans, hits) === 0) return undefined;
      const pieces = spanPieces(src, s, e, spans, detectors, hasher, jsonOutsideString(src, from));
      return pieces;
    }
  }
  if (scanValue(src, s, e, detectors, col.flags, spans, hits) === 0) return undefined;
  return spanPieces(src, s, e, spans, detectors, hasher);
}

function quoteJson(ascii: Uint8Array): Uint8Array {
  const out = new Uint8Array(ascii.length + 2);
  out[0] = 34;
  out.set(ascii, 1);
  out[out.length - 1] = 34;
  return out;
}

const OID_TYPE = 26;

/** Renders a binary int2/int4/int8/oid/numeric as decimal text into dst; returns its length or -1. */
function numberText(src: Uint8Array, s: number, e: number, dst: Uint8Array, unsigned: boolean): number {
  const dv = new DataView(src.buffer, src.byteOffset + s, e - s);
  let text: string;
  if (e - s === 2) text = String(dv.getInt16(0));
  else if (e - s === 4) text = String(unsigned ? dv.getUint32(0) : dv.getInt32(0));
  else if (e - s === 8) text = String(dv.getBigInt64(0));
  else return numericText(dv, dst);
  for (let k = 0; k < text.length; k++) dst[k] = text.charCodeAt(k);
  return text.length;
}

/**
 * Renders a binary float4/float8 (IEEE 754, float4send/float8send) as JavaScript prints it: fixed digits
 * up to 1e21, so at least as many plain digits as float8out shows. Returns its length or -1.
 */
function floatText(src: Uint8Array, s: number, e: number, dst: Uint8Array): number {
  const dv = new DataView(src.buffer, src.byteOffset + s, e - s);
  let v: number;
  if (e - s === 4) v = dv.getFloat32(0);
  else if (e - s === 8) v = dv.getFloat64(0);
  else return -1;
  const text = String(v);
  const n = Math.min(text.length, dst.length);
  for (let k = 0; k < n; k++) dst[k] = text.charCodeAt(k);
  return n;
}

// Binary numeric (src/backend/utils/adt/numeric.c numeric_send): Int16 ndigits, Int16 weight, Int16
// sign, Int16 dscale, then ndigits base-10000 digits; weight is the power of 10000 of the first digit.
function numericText(dv: DataView, dst: Uint8Array): number {
  if (dv.byteLength < 8) return -1;
  const ndigits = dv.getInt16(0);
  const weight = dv.getInt16(2);
  const sign = dv.getUint16(4);
  const dscale = dv.getInt16(6);
  if (sign !== 0 && sign !== 0x4000) return -1; // NaN, ±Infinity
  if (dv.byteLength < 8 + ndigits * 2) return -1;
  let n = 0;
  const put = (b: number) => {
    if (n < dst.length) dst[n++] = b;
  };
  if (sign === 0x4000) put(45);
  if (weight < 0) put(48);
  for (let g = 0; g <= weight; g++) {
    const d = g < ndigits ? dv.getInt16(8 + g * 2) : 0;
    const str = g === 0 ? String(d) : String(d).padStart(4, "0");
    for (let k = 0; k < str.length; k++) put(str.charCodeAt(k));
  }
  if (dscale > 0) {
    put(46);
    let written = 0;
    for (let g = weight + 1; written < dscale; g++) {
      const d = g >= 0 && g < ndigits ? dv.getInt16(8 + g * 2) : 0;
      const str = String(d).padStart(4, "0");
      for (let k = 0; k < 4 && written < dscale; k++, written++) put(str.charCodeAt(k));
    }
  }
  return n;
}

// Big-endian integers read and written by hand: a DataView per message costs more than the scan.
function int32(b: Uint8Array, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

function setInt32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

// 'D' DataRow, protocol-message-formats: Int32 length (self-inclusive), Int16 column count, then per
// column Int32 value length (-1 = NULL) and the value bytes.
export function maskDataRow(msg: Uint8Array, m: PgRowMasker, stats?: MaskStats): Uint8Array {
  if (stats) stats.rows++;
  if (!m.plan.active) return msg;
  const total = msg.length;
  if (msg[0] !== 0x44 || total < 7) throw malformed("not a DataRow");
  const n = (msg[5]! << 8) | msg[6]!;
  const columns = m.plan.columns;
  if (n !== columns.length) throw malformed("DataRow column count differs from its RowDescription");
  let edits: Edit[] | null = null;
  let pos = 7;
  for (let i = 0; i < n; i++) {
    if (pos + 4 > total) throw malformed("truncated DataRow");
    const len = int32(msg, pos);
    pos += 4;
    if (len === -1) continue; // NULL stays NULL
    if (len < 0 || pos + len > total) throw malformed("truncated DataRow");
    const col = columns[i]!;
    if (col.method !== null || m.detectors[i]!.length > 0) {
      const pieces = maskValue(m, i, msg, pos, pos + len, stats);
      if (pieces !== undefined) {
        edits ??= [];
        edits.push({ lenAt: pos - 4, start: pos, end: pos + len, pieces });
        stats?.markCell(i);
      }
    }
    pos += len;
  }
  if (edits === null) return msg;
  if (stats) stats.rowsMasked++;
  let size = total;
  for (const ed of edits) size += (ed.pieces ? piecesLength(msg, ed.pieces) : 0) - (ed.end - ed.start);
  const out = new Uint8Array(size);
  let r = 0;
  let w = 0;
  for (const ed of edits) {
    w = copyBytes(msg, r, ed.lenAt, out, w);
    if (ed.pieces === null) {
      setInt32(out, w, -1);
      w += 4;
    } else {
      const start = w + 4;
      w = writePieces(msg, ed.pieces, out, start);
      setInt32(out, start - 4, w - start);
    }
    r = ed.end;
  }
  copyBytes(msg, r, total, out, w);
  setInt32(out, 1, size - 1);
  return out;
}

/** A masker for COPY TO STDOUT rows: text output is text, so columns of unknown type count as strings. */
export function pgCopyMasker(plan: MaskPlan, typeOids?: readonly number[]): PgRowMasker {
  const fields = plan.columns.map((_, i) => ({ typeOid: typeOids?.[i] || 25, format: 0 }));
  return pgRowMasker(plan, fields);
}

export interface CopyFormat {
  csv: boolean;
  /** Field delimiter byte: tab for text, comma for CSV unless COPY said otherwise. */
  delimiter: number;
}

export const COPY_TEXT: CopyFormat = { csv: false, delimiter: 9 };
export const COPY_CSV: CopyFormat = { csv: true, delimiter: 44 };

const COPY_NULL = new TextEncoder().encode("\\N");
const EMPTY = new Uint8Array(0);

interface LineEdit {
  start: number;
  end: number;
  src: Uint8Array;
  pieces: Piece[];
}

/**
 * Masks one COPY TO STDOUT row (one CopyData payload: the fields and the trailing newline) in text or
 * CSV format with default quoting. Returns the same array when nothing is masked. CSV NULL is the empty
 * unquoted field; a HEADER line should not be passed in.
 */
export function maskCopyRow(
  line: Uint8Array,
  m: PgRowMasker,
  format = COPY_TEXT,
  stats?: MaskStats,
): Uint8Array {
  if (stats) stats.rows++;
  if (!m.plan.active) return line;
  let end = line.length;
  if (line[end - 1] === 10) end--;
  if (!format.csv && line[end - 1] === 13) end--;
  const edits: LineEdit[] = [];
  let pos = 0;
  for (let i = 0; pos <= end; i++) {
    const col = m.plan.columns[i];
    if (col === undefined) throw malformed("COPY row has more fields than the plan");
    let fieldEnd: number;
    let quoted = false;
    let escaped = false;
    if (format.csv && line[pos] === 34) {
      quoted = true;
      let q = pos + 1;
      for (;;) {
        const at = line.indexOf(34, q);
        if (at === -1 || at >= end) throw malformed("unterminated CSV quote in COPY row");
        if (line[at + 1] === 34) q = at + 2;
        else {
          fieldEnd = at + 1;
          break;
        }
      }
      if (fieldEnd < end && line[fieldEnd] !== format.delimiter)
        throw malformed("bad CSV quoting in COPY row");
    } else {
      const d = line.indexOf(format.delimiter, pos);
      fieldEnd = d === -1 || d > end ? end : d;
      if (!format.csv) escaped = line.indexOf(92, pos) !== -1 && line.indexOf(92, pos) < fieldEnd;
    }
    const isNull = format.csv
      ? !quoted && fieldEnd === pos
      : fieldEnd - pos === 2 && line[pos] === 92 && line[pos + 1] === 78;
    if (!isNull && (col.method !== null || m.detectors[i]!.length > 0)) {
      const edit = maskCopyField(m, i, line, pos, fieldEnd, quoted, escaped, format, stats);
      if (edit) edits.push(edit);
    }
    pos = fieldEnd + 1;
    if (fieldEnd === end) {
      if (i + 1 !== m.plan.columns.length) throw malformed("COPY row has fewer fields than the plan");
      break;
    }
  }
  if (edits.length === 0) return line;
  if (stats) stats.rowsMasked++;
  let size = line.length;
  for (const ed of edits) size += piecesLength(ed.src, ed.pieces) - (ed.end - ed.start);
  const out = new Uint8Array(size);
  let r = 0;
  let w = 0;
  for (const ed of edits) {
    w = writePieces(ed.src, ed.pieces, out, copyBytes(line, r, ed.start, out, w));
    r = ed.end;
  }
  copyBytes(line, r, line.length, out, w);
  return out;
}

function maskCopyField(
  m: PgRowMasker,
  i: number,
  line: Uint8Array,
  s: number,
  e: number,
  quoted: boolean,
  escaped: boolean,
  format: CopyFormat,
  stats?: MaskStats,
): LineEdit | null {
  if (!quoted && !escaped) {
    const pieces = maskValue(m, i, line, s, e, stats);
    if (pieces === undefined) return null;
    return { start: s, end: e, src: line, pieces: pieces ?? [nullPiece(format)] };
  }
  // Escaped or quoted: mask the decoded value, then encode the result again.
  const value = quoted ? unquoteCsv(line, s, e) : unescapeText(line, s, e);
  const pieces = maskValue(m, i, value, 0, value.length, stats);
  if (pieces === undefined) return null;
  if (pieces === null) return { start: s, end: e, src: line, pieces: [nullPiece(format)] };
  const plain = materialize(value, pieces);
  const lit = quoted ? quoteCsv(plain) : escapeText(plain, format.delimiter);
  return { start: s, end: e, src: lit, pieces: [{ kind: LIT, s: 0, e: 0, lit }] };
}

function nullPiece(format: CopyFormat): Piece {
  return { kind: LIT, s: 0, e: 0, lit: format.csv ? EMPTY : COPY_NULL };
}

// COPY text format escapes (sql-copy.html, "Text Format"): \b \f \n \r \t \v \\, octal \ooo, hex \xhh,
// and a backslash before any other character stands for that character.
const ESCAPES: Record<number, number> = { 98: 8, 102: 12, 110: 10, 114: 13, 116: 9, 118: 11 };

function unescapeText(line: Uint8Array, s: number, e: number): Uint8Array {
  const out = new Uint8Array(e - s);
  let n = 0;
  for (let i = s; i < e; i++) {
    const b = line[i]!;
    if (b !== 92 || i + 1 >= e) {
      out[n++] = b;
      continue;
    }
    const c = line[++i]!;
    if (c >= 48 && c <= 55) {
      let v = c - 48;
      for (let k = 0; k < 2 && i + 1 < e && line[i + 1]! >= 48 && line[i + 1]! <= 55; k++)
        v = v * 8 + line[++i]! - 48;
      out[n++] = v & 0xff;
    } else if (c === 120 && i + 1 < e && isHex(line[i + 1]!)) {
      let v = hexVal(line[++i]!);
      if (i + 1 < e && isHex(line[i + 1]!)) v = v * 16 + hexVal(line[++i]!);
      out[n++] = v;
    } else out[n++] = ESCAPES[c] ?? c;
  }
  return out.subarray(0, n);
}

function isHex(b: number): boolean {
  return (b >= 48 && b <= 57) || (b >= 65 && b <= 70) || (b >= 97 && b <= 102);
}

function hexVal(b: number): number {
  return b <= 57 ? b - 48 : (b | 32) - 87;
}

function escapeText(v: Uint8Array, delimiter: number): Uint8Array {
  const out: number[] = [];
  for (const b of v) {
    if (b === 92) out.push(92, 92);
    else if (b === 10) out.push(92, 110);
    else if (b === 13) out.push(92, 114);
    else if (b === 9) out.push(92, 116);
    else if (b === delimiter) out.push(92, b);
    else out.push(b);
  }
  return Uint8Array.from(out);
}

function unquoteCsv(line: Uint8Array, s: number, e: number): Uint8Array {
  const out = new Uint8Array(e - s);
  let n = 0;
  for (let i = s + 1; i < e - 1; i++) {
    out[n++] = line[i]!;
    if (line[i] === 34) i++; // "" is one quote
  }
  return out.subarray(0, n);
}

function quoteCsv(v: Uint8Array): Uint8Array {
  const out: number[] = [34];
  for (const b of v) {
    out.push(b);
    if (b === 34) out.push(34);
  }
  out.push(34);
  return Uint8Array.from(out);
}
