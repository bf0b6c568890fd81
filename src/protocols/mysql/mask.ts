// Masking of MySQL result sets, text and binary protocol, by each column's resolved source (Column
// Definition's schema, org_table, org_name) and by detectors, plus error and warning texts. The per-value
// work is the shared engine's (masking/) through the PostgreSQL value masker, fed MySQL types as the
// PostgreSQL type classes they behave like: strings are scanned and replaced, numbers are scanned as their
// decimal text and become NULL on a hit or a column mask, dates become NULL under a column mask.
import type { MaskRule } from "../../core/decision.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { materialize, piecesLength, writePieces } from "../../masking/pieces.ts";
import type { MaskPlan, ResultColumn } from "../../masking/plan.ts";
import { maskValue, type PgRowMasker, pgRowMasker } from "../postgres/mask.ts";
import { concat, Reader, utf8, Writer } from "./codec.ts";
import { type ColumnDef, parseFieldListDef, ColumnType as T, textRowValues } from "./result-set.ts";

const TEXT_OID = 25;
const NUMBER_OID = 20;
const JSON_OID = 114;
const DATE_OID = 1082;

function oidOf(type: number): number {
  switch (type) {
    case T.TINY:
    case T.SHORT:
    case T.LONG:
    case T.LONGLONG:
    case T.INT24:
    case T.YEAR:
    case T.DECIMAL:
    case T.NEWDECIMAL:
    case T.FLOAT:
    case T.DOUBLE:
      return NUMBER_OID;
    case T.DATE:
    case T.NEWDATE:
    case T.TIME:
    case T.TIME2:
    case T.DATETIME:
    case T.DATETIME2:
    case T.TIMESTAMP:
    case T.TIMESTAMP2:
      return DATE_OID;
    case T.JSON:
      return JSON_OID;
    case T.NULL:
      return DATE_OID; // always NULL: nothing to scan
    default:
      return TEXT_OID; // strings, blobs, ENUM, SET, BIT, GEOMETRY: scanned as bytes
  }
}

export function resultColumns(defs: readonly ColumnDef[]): ResultColumn[] {
  return defs.map((d) => ({
    name: d.name,
    source: d.orgTable && d.orgName ? { schema: d.schema, table: d.orgTable, column: d.orgName } : undefined,
  }));
}

export interface ResultMasker {
  readonly active: boolean;
  /** A text-protocol row, masked; the same array when nothing changed. */
  textRow(payload: Uint8Array): Uint8Array;
  /** A binary-protocol row (COM_STMT_EXECUTE), masked; the same array when nothing changed. */
  binaryRow(payload: Uint8Array): Uint8Array;
}

/** Throws CustosError (policy.unavailable) for a rule the engine cannot honour; the caller refuses. */
export function resultMasker(
  engine: MaskingEngine,
  rules: readonly MaskRule[],
  defs: readonly ColumnDef[],
): ResultMasker {
  const plan: MaskPlan = engine.plan(rules, resultColumns(defs));
  const masker = pgRowMasker(
    plan,
    defs.map((d) => ({ typeOid: oidOf(d.type), format: 0 })),
  );
  return {
    active: plan.active,
    textRow: (payload) => (plan.active ? maskTextRow(masker, payload, defs.length) : payload),
    binaryRow: (payload) => (plan.active ? maskBinaryRow(masker, payload, defs) : payload),
  };
}

function maskTextRow(m: PgRowMasker, payload: Uint8Array, count: number): Uint8Array {
  const values = textRowValues(payload, count);
  let changed = false;
  const out: (Uint8Array | null)[] = [];
  for (let i = 0; i < count; i++) {
    const v = values[i]!;
    if (v === null) {
      out.push(null);
      continue;
    }
    const pieces = maskValue(m, i, payload, v[0], v[1]);
    if (pieces === undefined) out.push(payload.subarray(v[0], v[1]));
    else {
      changed = true;
      out.push(pieces === null ? null : materialize(payload, pieces));
    }
  }
  if (!changed) return payload;
  const w = new Writer();
  for (const v of out) {
    if (v === null) w.int1(0xfb);
    else w.lenencBytes(v);
  }
  return w.end();
}

/** Fixed widths in the binary row (protocol_binary_resultset_row); -1: length-encoded; -2: 1-byte length. */
function binaryWidth(type: number): number {
  switch (type) {
    case T.LONGLONG:
    case T.DOUBLE:
      return 8;
    case T.LONG:
    case T.INT24:
    case T.FLOAT:
      return 4;
    case T.SHORT:
    case T.YEAR:
      return 2;
    case T.TINY:
      return 1;
    case T.NULL:
      return 0;
    case T.DATE:
    case T.DATETIME:
    case T.TIMESTAMP:
    case T.TIME:
    case T.NEWDATE:
    case T.DATETIME2:
    case T.TIMESTAMP2:
    case T.TIME2:
      return -2;
    default:
      return -1;
  }
}

const UNSIGNED = 32;

function numberText(type: number, flags: number, b: Uint8Array, s: number): string {
  const dv = new DataView(b.buffer, b.byteOffset + s);
  const unsigned = (flags & UNSIGNED) !== 0;
  switch (type) {
    case T.LONGLONG:
      return (unsigned ? dv.getBigUint64(0, true) : dv.getBigInt64(0, true)).toString();
    case T.DOUBLE:
      return String(dv.getFloat64(0, true));
    case T.FLOAT:
      return String(dv.getFloat32(0, true));
    case T.LONG:
    case T.INT24:
      return String(unsigned ? dv.getUint32(0, true) : dv.getInt32(0, true));
    case T.SHORT:
    case T.YEAR:
      return String(unsigned ? dv.getUint16(0, true) : dv.getInt16(0, true));
    default:
      return String(unsigned ? dv.getUint8(0) : dv.getInt8(0));
  }
}

function maskBinaryRow(m: PgRowMasker, payload: Uint8Array, defs: readonly ColumnDef[]): Uint8Array {
  const n = defs.length;
  const bitmapLen = (n + 7 + 2) >> 3;
  const r = new Reader(payload);
  r.int1(); // 0x00 header
  const bitmap = payload.slice(1, 1 + bitmapLen);
  r.bytes(bitmapLen);
  const isNull = (i: number) => (bitmap[(i + 2) >> 3]! & (1 << ((i + 2) & 7))) !== 0;
  let changed = false;
  const values: (Uint8Array | null)[] = [];
  for (let i = 0; i < n; i++) {
    if (isNull(i)) {
      values.push(null);
      continue;
    }
    const d = defs[i]!;
    const width = binaryWidth(d.type);
    let start: number;
    let end: number;
    let encoded: Uint8Array;
    if (width >= 0) {
      start = r.pos;
      r.bytes(width);
      end = r.pos;
      encoded = payload.subarray(start, end);
      if (oidOf(d.type) === NUMBER_OID && width > 0) {
        // Scanned as the decimal text a text-protocol result would carry.
        const txt = utf8(numberText(d.type, d.flags, payload, start));
        const verdict = maskValue(m, i, txt, 0, txt.length);
        if (verdict !== undefined) {
          changed = true;
          values.push(null);
          continue;
        }
      }
      values.push(encoded);
      continue;
    }
    if (width === -2) {
      const len = r.int1();
      start = r.pos;
      r.bytes(len);
      encoded = payload.subarray(start - 1, r.pos);
      if (maskValue(m, i, payload, start, r.pos) !== undefined) {
        changed = true;
        values.push(null);
        continue;
      }
      values.push(encoded);
      continue;
    }
    const lenStart = r.pos;
    const len = r.lenenc();
    if (len === null) throw new RangeError("NULL marker in a binary row");
    start = r.pos;
    r.bytes(len);
    end = r.pos;
    const pieces = maskValue(m, i, payload, start, end);
    if (pieces === undefined) values.push(payload.subarray(lenStart, end));
    else {
      changed = true;
      if (pieces === null) values.push(null);
      else {
        const body = new Uint8Array(piecesLength(payload, pieces));
        writePieces(payload, pieces, body, 0);
        values.push(new Writer().lenencBytes(body).end());
      }
    }
  }
  if (r.left !== 0) throw new RangeError("trailing bytes in a binary row");
  if (!changed) return payload;
  const w = new Writer().int1(0);
  const outBitmap = new Uint8Array(bitmapLen);
  values.forEach((v, i) => {
    if (v === null) outBitmap[(i + 2) >> 3]! |= 1 << ((i + 2) & 7);
  });
  w.bytes(outBitmap);
  for (const v of values) if (v !== null) w.bytes(v);
  return w.end();
}

/** Quoted values MySQL and MariaDB put in error and warning texts (`Duplicate entry '…' for key`). */
const QUOTED_VALUE = /((?:entry|value:?|values?)\s+')((?:[^'\\]|\\.|'')*)(')/gi;

/** Error and warning texts for a masked session: detectors over the text, quoted row values redacted. */
export class MessageMasker {
  private readonly masker: PgRowMasker;

  constructor(engine: MaskingEngine) {
    const plan = engine.plan([{ detector: "*", method: "redact" }], [{ name: "message" }]);
    this.masker = pgRowMasker(plan, [{ typeOid: TEXT_OID, format: 0 }]);
  }

  mask(message: string): string {
    const redacted = message.replace(QUOTED_VALUE, "$1[REDACTED]$3");
    const bytes = utf8(redacted);
    const pieces = maskValue(this.masker, 0, bytes, 0, bytes.length);
    if (pieces === undefined) return redacted;
    if (pieces === null) return "[REDACTED]";
    return new TextDecoder().decode(materialize(bytes, pieces));
  }
}

/**
 * A COM_FIELD_LIST column definition with its default value masked as that column's value would be (by
 * its source column's rules and by detectors); the same array when nothing changed. Throws RangeError for
 * a definition it cannot read and CustosError for a rule it cannot honour: the caller refuses.
 */
export function maskFieldListDef(
  engine: MaskingEngine,
  rules: readonly MaskRule[],
  payload: Uint8Array,
): Uint8Array {
  const { def, defaultAt } = parseFieldListDef(payload);
  if (defaultAt >= payload.length) return payload;
  const masker = resultMasker(engine, rules, [def]);
  if (!masker.active) return payload;
  const value = payload.subarray(defaultAt);
  const masked = masker.textRow(value);
  return masked === value ? payload : concat([payload.subarray(0, defaultAt), masked]);
}
