// US Social Security numbers under the SSA's rules: area 001–899 except 666, group 01–99, serial
// 0001–9999. The dashed form AAA-GG-SSSS is matched anywhere. The bare 9-digit form is matched only in a
// column known to hold SSNs (COLUMN_SSN_LIKE, from the column's name): nine digits alone are far more
// often order ids, ZIP+4 codes or amounts than SSNs, and masking those would make results useless.
// Free text counts as such a column right after a key named like one (`"ssn":"123456789"`, `taxId=`).
import {
  boundaryAfter,
  boundaryBefore,
  COLUMN_SSN_LIKE,
  type Detector,
  HAS_DIGIT,
  isDigit,
  keyFlagsBefore,
} from "../detector.ts";

function num(buf: Uint8Array, pos: number, len: number): number {
  let v = 0;
  for (let k = 0; k < len; k++) v = v * 10 + (buf[pos + k]! - 48);
  return v;
}

function digitsAt(buf: Uint8Array, pos: number, len: number, end: number): boolean {
  if (pos + len > end) return false;
  for (let k = 0; k < len; k++) if (!isDigit(buf[pos + k])) return false;
  return true;
}

export function validSsnParts(area: number, group: number, serial: number): boolean {
  return area !== 0 && area !== 666 && area < 900 && group !== 0 && serial !== 0;
}

export const ssnDetector: Detector = {
  name: "ssn",
  needs: HAS_DIGIT,
  minDigits: 9,
  minRun: 9,
  canonical: true,
  // Number text has a '-' only before its first digit, so never AAA-GG-SSSS; the bare nine digits count
  // only in an SSN-like column (keyFlagsBefore finds no key inside a number's own bytes).
  inNumberText: (maxDigits, flags) => maxDigits >= 9 && (flags & COLUMN_SSN_LIKE) !== 0,
  find(buf, start, end, flags, out) {
    const bare = (flags & COLUMN_SSN_LIKE) !== 0;
    let i = start;
    while (i < end) {
      const c = buf[i]!;
      if (c < 48 || c > 57) {
        i++;
        continue;
      }
      let runEnd = i;
      while (runEnd < end && isDigit(buf[runEnd])) runEnd++;
      if (runEnd - i === 3 && boundaryBefore(buf, i, start)) {
        // AAA-GG-SSSS
        if (
          buf[runEnd] === 45 &&
          digitsAt(buf, runEnd + 1, 2, end) &&
          buf[runEnd + 3] === 45 &&
          digitsAt(buf, runEnd + 4, 4, end) &&
          !isDigit(buf[runEnd + 8]) &&
          boundaryAfter(buf, runEnd + 8, end) &&
          validSsnParts(num(buf, i, 3), num(buf, runEnd + 1, 2), num(buf, runEnd + 4, 4))
        ) {
          out.push(i, runEnd + 8);
          i = runEnd + 8;
          continue;
        }
      } else if (
        runEnd - i === 9 &&
        boundaryBefore(buf, i, start) &&
        boundaryAfter(buf, runEnd, end) &&
        validSsnParts(num(buf, i, 3), num(buf, i + 3, 2), num(buf, i + 5, 4)) &&
        (bare || (keyFlagsBefore(buf, i, start) & COLUMN_SSN_LIKE) !== 0)
      ) {
        out.push(i, runEnd);
      }
      i = runEnd;
    }
  },
};
