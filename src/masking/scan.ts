// Runs a column's detectors over one value: a cheap prefilter (any digit? any '@'?) decides which
// detectors run at all, then hits are merged into non-overlapping spans, each with the strongest method
// among the detectors that found it.
import { BYTE_CLASS, type Detector, HAS_DIGIT, type MaskMethod, NUMBER_SEP } from "./detector.ts";
import { METHOD_RANK } from "./methods.ts";

export interface ActiveDetector {
  detector: Detector;
  method: MaskMethod;
  /** Index into the plan's detector list, for evidence counts. */
  index: number;
}

/** Digits, and the longest digit run, seen by the last prefilter call. */
export let prefilterDigits = 0;
export let prefilterRun = 0;

/**
 * One pass over the value: which byte classes occur, how many digits, and the longest run of digits
 * joined by at most two separator bytes (`(212) 555-0123` is one run of 10), so detectors that need a
 * long grouped number skip values that only hold short ones (amounts, house numbers, dates).
 */
export function prefilter(buf: Uint8Array, start: number, end: number): number {
  let flags = 0;
  let digits = 0;
  let run = 0;
  let best = 0;
  let gap = 0;
  for (let i = start; i < end; i++) {
    const c = BYTE_CLASS[buf[i]!]!;
    flags |= c;
    if (c === HAS_DIGIT) {
      digits++;
      run++;
      gap = 0;
      if (run > best) best = run;
    } else if (c === NUMBER_SEP && run > 0 && gap < 2) gap++;
    else {
      run = 0;
      gap = 0;
    }
  }
  prefilterDigits = digits;
  prefilterRun = best;
  return flags;
}

const raw: number[] = [];
const pairs: number[] = [];

/**
 * Finds spans in buf[start, end). Fills `out` with triples (start, end, active index of the strongest
 * detector) sorted and non-overlapping, and counts every raw hit per detector into `hits`; returns the
 * number of triples.
 */
export function scanValue(
  buf: Uint8Array,
  start: number,
  end: number,
  detectors: readonly ActiveDetector[],
  columnFlags: number,
  out: number[],
  hits?: Uint32Array,
): number {
  // Truncating an empty array is not free in JavaScriptCore; only truncate what holds something.
  if (out.length !== 0) out.length = 0;
  if (start === end || detectors.length === 0) return 0;
  const have = prefilter(buf, start, end);
  if (raw.length !== 0) raw.length = 0;
  for (let d = 0; d < detectors.length; d++) {
    const a = detectors[d]!;
    const det = a.detector;
    if ((det.needs & have) !== det.needs || prefilterDigits < det.minDigits || prefilterRun < det.minRun)
      continue;
    if (pairs.length !== 0) pairs.length = 0;
    det.find(buf, start, end, columnFlags, pairs);
    if (pairs.length === 0) continue;
    for (let k = 0; k < pairs.length; k += 2) raw.push(pairs[k]!, pairs[k + 1]!, d);
    if (hits) hits[a.index]! += pairs.length / 2;
  }
  if (raw.length === 0) return 0;
  if (raw.length > 3) {
    const order: number[] = [];
    for (let k = 0; k < raw.length; k += 3) order.push(k);
    order.sort((x, y) => raw[x]! - raw[y]!);
    let n = 0;
    for (const k of order) {
      const s = raw[k]!;
      const e = raw[k + 1]!;
      const d = raw[k + 2]!;
      if (n > 0 && s < out[n - 2]!) {
        if (e > out[n - 2]!) out[n - 2] = e;
        const cur = out[n - 1]!;
        if (METHOD_RANK[detectors[d]!.method] > METHOD_RANK[detectors[cur]!.method]) out[n - 1] = d;
      } else {
        out.push(s, e, d);
        n += 3;
      }
    }
    return n / 3;
  }
  out.push(raw[0]!, raw[1]!, raw[2]!);
  return 1;
}
