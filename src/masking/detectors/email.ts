// Email addresses: an ASCII local part and a dotted domain whose last label is at least two letters,
// found by expanding outwards from each '@' (located with the native indexOf, so values without one cost
// a memchr). Quoted local parts and internationalized domains are not matched.
import { type Detector, HAS_AT, isAlnum, isAlpha } from "../detector.ts";

function isLocal(b: number | undefined): boolean {
  // RFC 5322 atext minus the rarely used symbols that also delimit text (`'`, `/`, `|`, …).
  return isAlnum(b) || b === 46 || b === 95 || b === 37 || b === 43 || b === 45;
}

function isDomain(b: number | undefined): boolean {
  return isAlnum(b) || b === 45 || b === 46;
}

export const emailDetector: Detector = {
  name: "email",
  needs: HAS_AT,
  minDigits: 0,
  minRun: 0,
  canonical: false,
  // Needs an '@', which no number's text form contains.
  inNumberText: () => false,
  find(buf, start, end, _flags, out) {
    let at = buf.indexOf(64, start);
    let floor = start;
    while (at !== -1 && at < end) {
      let s = at;
      while (s > floor && isLocal(buf[s - 1])) s--;
      while (s < at && buf[s] === 46) s++; // a local part cannot start with a dot
      let e = at + 1;
      while (e < end && isDomain(buf[e])) e++;
      while (e > at + 1 && (buf[e - 1] === 46 || buf[e - 1] === 45)) e--; // sentence punctuation
      // The last label must be letters only (a TLD), and there must be at least one dot.
      let tld = e;
      while (tld > at + 1 && isAlpha(buf[tld - 1])) tld--;
      const ok = s < at && buf[at - 1] !== 46 && e - tld >= 2 && buf[tld - 1] === 46 && tld - 1 > at + 1;
      if (ok) {
        out.push(s, e);
        floor = e;
      }
      at = buf.indexOf(64, Math.max(at + 1, ok ? e : at + 1));
    }
  },
};
