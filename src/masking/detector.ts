// The detector contract: a pure scan over UTF-8 bytes that reports spans [start, end) of sensitive text.
// Detectors work on byte ranges in place (a DataRow value is a view into the message), never on strings.

export type MaskMethod = "redact" | "partial" | "hash" | "null";

import { columnFlags } from "./sensitive-names.ts";

/** Bit flags describing the column a value came from; detectors may relax their rules with them. */
export { COLUMN_PHONE_LIKE, COLUMN_SSN_LIKE } from "./sensitive-names.ts";

/** What the cheap prefilter found in a value; detectors declare what they need. */
export const HAS_DIGIT = 1;
export const HAS_AT = 2;
export const HAS_UPPER = 4;
/** Not a prefilter result: marks bytes that may sit inside a grouped number (space - . ( )). */
export const NUMBER_SEP = 8;
export const ALWAYS = 0;

/** Byte classes for the prefilter: one table lookup per byte. */
export const BYTE_CLASS = new Uint8Array(256);
for (let b = 48; b <= 57; b++) BYTE_CLASS[b] = HAS_DIGIT;
for (let b = 65; b <= 90; b++) BYTE_CLASS[b] = HAS_UPPER;
BYTE_CLASS[64] = HAS_AT;
for (const b of [32, 45, 46, 40, 41]) BYTE_CLASS[b] = NUMBER_SEP;

export interface Detector {
  readonly name: string;
  /** Prefilter bits that must all be present in the value for `find` to run. */
  readonly needs: number;
  /** Fewest digits a hit can contain: values with fewer skip the detector. */
  readonly minDigits: number;
  /** Fewest digits in one run (digits joined by at most two separator bytes) a hit can contain. */
  readonly minRun: number;
  /** Hash spans on their alphanumerics only, so `4111-1111…` and `4111 1111…` hash alike. */
  readonly canonical: boolean;
  /**
   * Whether a hit can lie in the text form of a SQL integer or numeric (`-?digits[.digits]`, `NaN`,
   * `Infinity`) of at most `maxDigits` digits, in a column with these flags. Lets a result plan drop the
   * detector for such columns; absent means "maybe" and the detector always runs (fail closed).
   */
  readonly inNumberText?: (maxDigits: number, columnFlags: number) => boolean;
  /** Appends [start, end) pairs of hits within buf[start, end) to `out`. */
  find(buf: Uint8Array, start: number, end: number, columnFlags: number, out: number[]): void;
}

export function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 48 && b <= 57;
}

export function isAlpha(b: number | undefined): boolean {
  return b !== undefined && ((b >= 65 && b <= 90) || (b >= 97 && b <= 122));
}

export function isAlnum(b: number | undefined): boolean {
  return isDigit(b) || isAlpha(b);
}

/** A token boundary: start or end of the value, or a byte that cannot continue a word or number. */
export function boundaryBefore(buf: Uint8Array, pos: number, start: number): boolean {
  if (pos <= start) return true;
  const b = buf[pos - 1];
  if (isAlnum(b) || b === 95 /* _ */) return false;
  // "12.4111…" or "1-4111…": the candidate continues a longer number.
  if ((b === 46 || b === 45) && pos - 2 >= start && isDigit(buf[pos - 2])) return false;
  return true;
}

export function boundaryAfter(buf: Uint8Array, pos: number, end: number): boolean {
  if (pos >= end) return true;
  const b = buf[pos];
  if (isAlnum(b) || b === 95) return false;
  // "…1111.00" or "…1111-2": a decimal or a longer dashed number.
  if ((b === 46 || b === 45) && pos + 1 < end && isDigit(buf[pos + 1])) return false;
  return true;
}

/** Bytes that may sit between a key and its value: quotes, `:`, `=`, `>`, spaces, tabs. */
function isKeySep(b: number | undefined): boolean {
  return b === 34 || b === 39 || b === 58 || b === 61 || b === 62 || b === 32 || b === 9;
}

function isKeyChar(b: number | undefined): boolean {
  return isAlnum(b) || b === 95 || b === 45;
}

function latin1(buf: Uint8Array, s: number, e: number): string {
  let name = "";
  for (let k = s; k < e; k++) name += String.fromCharCode(buf[k]!);
  return name;
}

/**
 * Column flags for the key written just before `pos` in free text (`"ssn":"`, `taxId=`, `<phone>`,
 * `mobile: `), so a bare number in a text body is read like one in a column of that name. 0 when none.
 */
export function keyFlagsBefore(buf: Uint8Array, pos: number, start: number): number {
  let p = pos;
  let seps = 0;
  // Up to three markup tags between a label and its value (`<th>ssn</th><td>123456789`).
  for (let round = 0; round < 4; round++) {
    while (p > start && isKeySep(buf[p - 1]) && buf[p - 1] !== 62 && seps < 8) {
      p--;
      seps++;
    }
    if (round === 3 || buf[p - 1] !== 62 /* > */) break;
    const close = p - 1;
    let q = close;
    while (q > start && buf[q - 1] !== 60 /* < */ && close - q < 40) q--;
    if (q <= start || buf[q - 1] !== 60) break;
    // An opening tag names its content (`<customer_ssn>123456789`).
    if (buf[q] !== 47 /* / */) {
      let e = q;
      while (e < close && isKeyChar(buf[e])) e++;
      if (e > q) {
        const f = columnFlags(latin1(buf, q, e));
        if (f !== 0) return f;
      }
    }
    p = q - 1;
    seps++;
  }
  if (seps === 0 || p === pos) return 0;
  const end = p;
  while (p > start && isKeyChar(buf[p - 1]) && end - p < 48) p--;
  if (p === end) return 0;
  return columnFlags(latin1(buf, p, end));
}
