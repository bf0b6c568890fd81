// Which of a plan's detectors can fire on a column, from the RowDescription's type OID and type modifier,
// decided once per result description so the per-row path runs only detectors a value could satisfy.
// The shipped pack asks for every detector on every column not masked by name; an integer column cannot
// hold an e-mail address, so scanning it for one is work with no possible hit.
//
// Exactness rule: a detector is dropped only when the type's text form provably cannot contain a hit
// (the detector itself says so through `inNumberText`, or the type bounds the digits below the detector's
// own `minDigits`, which scanValue's prefilter would check per value anyway). Anything unknown keeps
// every detector (fail closed).
import type { MaskPlan } from "../../masking/plan.ts";
import type { ActiveDetector } from "../../masking/scan.ts";

// Type OIDs, src/include/catalog/pg_type.dat.
const INT2 = 21;
const INT4 = 23;
const INT8 = 20;
const OID = 26;
const NUMERIC = 1700;
const BPCHAR = 1042;
const VARCHAR = 1043;
/** VARHDRSZ: char(n)/varchar(n)/numeric(p,s) typmods carry it on top (varchar.c, numeric.c). */
const VARHDRSZ = 4;

/**
 * The most digits a value of this type can show in its text form, or Infinity when not bounded.
 * int2 ≤ 32767 (5), int4/oid ≤ 10 digits, int8 ≤ 19; numeric(p,s) (typmod ((p << 16) | (s & 0x7ff)) + 4,
 * numeric.c make_numeric_typmod; scale sign-extended from 11 bits since PostgreSQL 15) shows at most
 * max(p − s, 1) integer digits (a leading 0 below 1, trailing zeros when s < 0) and max(s, 0) fraction
 * digits; char(n)/varchar(n) (typmod n + 4) hold at most n characters, so at most n digits.
 */
export function maxDigits(typeOid: number, typeMod: number): number {
  switch (typeOid) {
    case INT2:
      return 5;
    case INT4:
    case OID:
      return 10;
    case INT8:
      return 19;
    case NUMERIC: {
      if (typeMod < VARHDRSZ) return Number.POSITIVE_INFINITY;
      const t = typeMod - VARHDRSZ;
      const precision = (t >> 16) & 0xffff;
      const scale = ((t & 0x7ff) ^ 1024) - 1024;
      if (precision < 1) return Number.POSITIVE_INFINITY;
      return Math.max(precision - scale, 1) + Math.max(scale, 0);
    }
    case BPCHAR:
    case VARCHAR:
      return typeMod >= VARHDRSZ ? typeMod - VARHDRSZ : Number.POSITIVE_INFINITY;
    default:
      return Number.POSITIVE_INFINITY;
  }
}

/** Types whose text form is a number (`-?digits[.digits]`, numeric also `NaN`/`±Infinity`): numeric_out, int8out… */
function isNumberText(typeOid: number): boolean {
  return typeOid === INT2 || typeOid === INT4 || typeOid === INT8 || typeOid === OID || typeOid === NUMERIC;
}

/** The detectors of `plan`'s column i that a value of this type can satisfy (the plan's own list when all can). */
export function columnDetectors(
  plan: MaskPlan,
  i: number,
  typeOid: number,
  typeMod: number,
): readonly ActiveDetector[] {
  const col = plan.columns[i]!;
  const all = col.detectors;
  if (all.length === 0 || col.method !== null) return all;
  const digits = maxDigits(typeOid, typeMod);
  const number = isNumberText(typeOid);
  const kept = all.filter((a) => {
    const d = a.detector;
    if (d.minDigits > digits) return false;
    if (number && d.inNumberText !== undefined) return d.inNumberText(digits, col.flags);
    return true;
  });
  return kept.length === all.length ? all : kept;
}
