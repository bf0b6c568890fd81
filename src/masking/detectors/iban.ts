// International Bank Account Numbers (ISO 13616): country code, two check digits, a BBAN whose length is
// fixed per country, optionally printed in groups of four separated by single spaces; valid only when
// the number, rearranged and read as base 36, is 1 modulo 97. Letters in any case: `lower(iban)` in SQL
// or a lower-cased API field is still the account number (letters are upper-cased before the check).
import { boundaryBefore, type Detector, HAS_DIGIT, isAlnum, isDigit } from "../detector.ts";

/** Total IBAN length per country, from the SWIFT IBAN registry. */
const LENGTHS: Record<string, number> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MR: 27,
  MT: 31,
  MU: 30,
  NL: 18,
  NO: 15,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  SA: 24,
  SC: 31,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
};

const chars = new Uint8Array(34);

function isLetter(b: number | undefined): boolean {
  return b !== undefined && ((b >= 65 && b <= 90) || (b >= 97 && b <= 122));
}

function isAlnumAnyCase(b: number | undefined): boolean {
  return isDigit(b) || isLetter(b);
}

/** ASCII upper case of a letter byte; digits unchanged. */
function upper(b: number): number {
  return b >= 97 ? b - 32 : b;
}

/** mod-97 over the rearranged IBAN (BBAN, then country and check digits), letters as 10..35. */
export function ibanMod97(c: Uint8Array, n: number): number {
  let r = 0;
  for (let k = 4; k < n + 4; k++) {
    const b = c[k % n]!;
    if (b <= 57) r = (r * 10 + (b - 48)) % 97;
    else r = (r * 100 + (b - 55)) % 97;
  }
  return r;
}

export const ibanDetector: Detector = {
  name: "iban",
  needs: HAS_DIGIT,
  minDigits: 10,
  minRun: 0,
  canonical: true,
  // Starts with two letters then two digits: number text holds no letters but those of NaN/Infinity.
  inNumberText: () => false,
  find(buf, start, end, _flags, out) {
    for (let i = start; i + 15 <= end; i++) {
      const c = buf[i]!;
      if (!isLetter(c)) continue;
      if (!isLetter(buf[i + 1]) || !isDigit(buf[i + 2]) || !isDigit(buf[i + 3])) continue;
      if (!boundaryBefore(buf, i, start)) continue;
      const want = LENGTHS[String.fromCharCode(upper(c), upper(buf[i + 1]!))];
      if (want === undefined) continue;
      let n = 0;
      let pos = i;
      let spaced = false;
      let group = 0;
      while (pos < end && n < want) {
        const b = buf[pos]!;
        if (isAlnumAnyCase(b)) {
          chars[n++] = upper(b);
          group++;
          pos++;
        } else if (b === 32 && group === 4 && isAlnumAnyCase(buf[pos + 1]) && (spaced || n === 4)) {
          spaced = true;
          group = 0;
          pos++;
        } else break;
      }
      if (n !== want || isAlnum(buf[pos])) continue;
      if (ibanMod97(chars, n) !== 1) continue;
      out.push(i, pos);
      i = pos - 1;
    }
  },
};
