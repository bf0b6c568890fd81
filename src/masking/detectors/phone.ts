// Telephone numbers in two written shapes: E.164 (`+` country code, 8–15 digits, optional separators)
// and NANP with its punctuation (`(212) 555-0123`, `212-555-0123`, `212.555.0123`, `1 212 555 0123`).
// A bare run of digits is a phone only in a column named like one (COLUMN_PHONE_LIKE) or right after
// such a key in free text (`"mobilePhone":"2125550123"`): elsewhere `2125550123` is an id.
import {
  boundaryAfter,
  boundaryBefore,
  COLUMN_PHONE_LIKE,
  type Detector,
  HAS_DIGIT,
  isAlnum,
  isDigit,
  keyFlagsBefore,
} from "../detector.ts";

function isSep(b: number | undefined): boolean {
  return b === 32 || b === 45 || b === 46;
}

function digits(buf: Uint8Array, pos: number, n: number, end: number): boolean {
  if (pos + n > end) return false;
  for (let k = 0; k < n; k++) if (!isDigit(buf[pos + k])) return false;
  return true;
}

/** End of a NANP number starting at `i`, or -1. */
function nanp(buf: Uint8Array, i: number, end: number): number {
  let p = i;
  if (buf[p] === 49 && isSep(buf[p + 1]) && (isDigit(buf[p + 2]) || buf[p + 2] === 40)) p += 2; // "1 "
  let sep: number | undefined;
  if (buf[p] === 40) {
    if (!digits(buf, p + 1, 3, end) || buf[p + 4] !== 41) return -1;
    if (buf[p + 1]! < 50) return -1;
    p += 5;
    if (buf[p] === 32) p++;
  } else {
    if (!digits(buf, p, 3, end) || buf[p]! < 50 || !isSep(buf[p + 3])) return -1;
    sep = buf[p + 3];
    p += 4;
  }
  if (!digits(buf, p, 3, end) || buf[p]! < 50) return -1;
  const sep2 = buf[p + 3];
  if (!isSep(sep2) || (sep !== undefined && sep2 !== sep)) return -1;
  p += 4;
  if (!digits(buf, p, 4, end)) return -1;
  p += 4;
  if (isDigit(buf[p]) || !boundaryAfter(buf, p, end)) return -1;
  if (isSep(buf[p]) && isDigit(buf[p + 1])) return -1; // part of a longer grouped number
  return p;
}

/** End of an E.164 number whose '+' is at `i`, or -1. */
function e164(buf: Uint8Array, i: number, end: number): number {
  let p = i + 1;
  if (!isDigit(buf[p]) || buf[p] === 48) return -1;
  let n = 0;
  let last = p;
  while (p < end) {
    const b = buf[p]!;
    if (b >= 48 && b <= 57) {
      n++;
      p++;
      last = p;
    } else if ((isSep(b) || b === 40 || b === 41) && p + 1 < end) {
      const next = buf[p + 1];
      if (!isDigit(next) && !(b !== 40 && next === 40) && !(b === 41 && next === 32)) break;
      p++;
    } else break;
  }
  if (n < 8 || n > 15 || isAlnum(buf[last])) return -1;
  return last;
}

/** buf[s, e) is a bare NANP number: 10 digits (or 11 with the leading 1), area and exchange 2–9. */
function bareNanp(buf: Uint8Array, s: number, e: number, start: number, end: number): boolean {
  let p = s;
  if (e - s === 11 && buf[s] === 49) p++;
  else if (e - s !== 10) return false;
  return buf[p]! >= 50 && buf[p + 3]! >= 50 && boundaryBefore(buf, s, start) && boundaryAfter(buf, e, end);
}

export const phoneDetector: Detector = {
  name: "phone",
  needs: HAS_DIGIT,
  minDigits: 8,
  minRun: 8,
  canonical: true,
  // E.164 needs '+', NANP punctuation '(' or two separators between digit groups: number text has at most
  // one '.', so only the bare 10/11 digits remain, and those only in a phone-like column.
  inNumberText: (maxDigits, flags) => maxDigits >= 10 && (flags & COLUMN_PHONE_LIKE) !== 0,
  find(buf, start, end, flags, out) {
    let i = start;
    while (i < end) {
      const b = buf[i]!;
      // Fast skip: only '+', '(' and digits can start a phone number.
      if ((b < 48 || b > 57) && b !== 43 && b !== 40) {
        i++;
        continue;
      }
      let e = -1;
      if (b === 43 /* + */ && (i === start || !isAlnum(buf[i - 1]))) e = e164(buf, i, end);
      else if (
        (isDigit(b) || b === 40) &&
        boundaryBefore(buf, i, start) &&
        !(b === 40 && isAlnum(buf[i - 1]))
      )
        e = nanp(buf, i, end);
      if (e > 0) {
        out.push(i, e);
        i = e;
        continue;
      }
      if (isDigit(b)) {
        const from = i;
        while (i < end && isDigit(buf[i])) i++;
        if (
          bareNanp(buf, from, i, start, end) &&
          ((flags & COLUMN_PHONE_LIKE) !== 0 || (keyFlagsBefore(buf, from, start) & COLUMN_PHONE_LIKE) !== 0)
        )
          out.push(from, i);
      } else i++;
    }
  },
};
