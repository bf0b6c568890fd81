// Payment card numbers (PAN): 13–19 digits, optionally grouped by one kind of separator (space or dash),
// with a plausible issuer prefix and a valid Luhn check digit. Validation, not a pattern, keeps order ids
// and other long integers unmasked: a random 16-digit id passes Luhn and the IIN table about 1 time in 20.
import { boundaryAfter, boundaryBefore, type Detector, HAS_DIGIT, isDigit } from "../detector.ts";

const digits = new Uint8Array(20);

export function luhnValid(d: Uint8Array, n: number): boolean {
  let sum = 0;
  for (let i = n - 1, double = false; i >= 0; i--, double = !double) {
    let v = d[i]!;
    if (double) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes by length, from the card brands' published ranges (ISO/IEC 7812 IIN). */
export function plausibleIssuer(d: Uint8Array, n: number): boolean {
  const two = d[0]! * 10 + d[1]!;
  const four = two * 100 + d[2]! * 10 + d[3]!;
  switch (d[0]) {
    case 2: // Mastercard 2221–2720
      return n === 16 && four >= 2221 && four <= 2720;
    case 3:
      if (two === 34 || two === 37) return n === 15; // Amex
      if (two === 35) return n >= 16; // JCB
      if (two === 30 || two === 36 || two === 38 || two === 39) return n >= 14; // Diners
      return false;
    case 4: // Visa
      return n === 13 || n === 16 || n === 19;
    case 5:
      if (two >= 51 && two <= 55) return n === 16; // Mastercard
      return two === 50 || two >= 56; // Maestro
    case 6: // Discover, UnionPay, Maestro, RuPay
      return true;
    default:
      return false;
  }
}

export const cardDetector: Detector = {
  name: "card",
  needs: HAS_DIGIT,
  minDigits: 13,
  minRun: 13,
  canonical: true,
  // 13–19 digits with no separator is a bare integer: any integer type wide enough carries a PAN.
  inNumberText: (maxDigits) => maxDigits >= 13,
  find(buf, start, end, _flags, out) {
    let i = start;
    while (i < end) {
      const c = buf[i]!;
      if (c < 48 || c > 57) {
        i++;
        continue;
      }
      if (!boundaryBefore(buf, i, start)) {
        while (i < end && isDigit(buf[i])) i++;
        continue;
      }
      let pos = i;
      let n = 0;
      let sep = 0;
      let group = 0;
      let firstGroup = 0;
      let firstGroupEnd = 0;
      let groupsOk = true;
      let overflow = false;
      while (pos < end) {
        const b = buf[pos]!;
        if (b >= 48 && b <= 57) {
          if (n === 19) overflow = true;
          else digits[n++] = b - 48;
          group++;
          pos++;
        } else if (
          (b === 32 || b === 45) &&
          (sep === 0 || sep === b) &&
          isDigit(buf[pos + 1]) &&
          pos + 1 < end
        ) {
          if (firstGroup === 0) {
            firstGroup = group;
            firstGroupEnd = pos;
          } else if (group < 3 || group > 6) groupsOk = false;
          sep = b;
          group = 0;
          pos++;
        } else break;
      }
      if (sep !== 0 && (group < 3 || group > 6)) groupsOk = false;
      const ok =
        !overflow &&
        n >= 13 &&
        (sep === 0 || (firstGroup === 4 && groupsOk)) &&
        boundaryAfter(buf, pos, end) &&
        plausibleIssuer(digits, n) &&
        luhnValid(digits, n);
      if (ok) {
        out.push(i, pos);
        i = pos;
      } else if (sep === 32 && firstGroupEnd > 0) {
        // "qty 2 4111 1111 1111 1111": a space-separated run may hold a card after its first number.
        i = firstGroupEnd + 1;
      } else i = pos;
    }
  },
};
