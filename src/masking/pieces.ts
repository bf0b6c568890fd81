// A masked value as a list of pieces over its source bytes: copied ranges, literal replacements and
// `partial` ranges written in place. Building pieces costs no copy; the protocol sizes its output from
// them and writes each byte once, so a multi-megabyte value is copied exactly once.
import type { MaskMethod } from "./detector.ts";
import { type Hasher, partialLength, partialWrite, REDACTED } from "./methods.ts";
import type { ActiveDetector } from "./scan.ts";

export const COPY = 0;
export const LIT = 1;
export const PARTIAL = 2;

export interface Piece {
  kind: typeof COPY | typeof LIT | typeof PARTIAL;
  s: number;
  e: number;
  lit?: Uint8Array;
}

const QUOTE = new Uint8Array([34]);

/** Pieces for one method over src[s, e); null means the whole value must become NULL. */
export function methodPieces(
  method: MaskMethod,
  src: Uint8Array,
  s: number,
  e: number,
  hasher: Hasher | null,
  canonical: boolean,
  out: Piece[],
): boolean {
  switch (method) {
    case "null":
      return false;
    case "partial":
      out.push({ kind: PARTIAL, s, e });
      return true;
    case "hash":
      if (hasher) {
        out.push({ kind: LIT, s, e, lit: hasher.hash(src, s, e, canonical) });
        return true;
      }
      out.push({ kind: LIT, s, e, lit: REDACTED });
      return true;
    default:
      out.push({ kind: LIT, s, e, lit: REDACTED });
      return true;
  }
}

/**
 * Pieces for src[s, e) with detector spans (triples from scanValue) replaced. `quoteOutside(pos)`, when
 * given, says a span at pos sits outside a JSON string, so its replacement is written as a JSON string.
 * Returns null when a span's method is `null` (the whole value becomes NULL).
 */
export function spanPieces(
  src: Uint8Array,
  s: number,
  e: number,
  spans: readonly number[],
  detectors: readonly ActiveDetector[],
  hasher: Hasher | null,
  quoteOutside?: (pos: number) => boolean,
): Piece[] | null {
  const out: Piece[] = [];
  let at = s;
  for (let k = 0; k < spans.length; k += 3) {
    const ss = spans[k]!;
    const se = spans[k + 1]!;
    const a = detectors[spans[k + 2]!]!;
    if (ss > at) out.push({ kind: COPY, s: at, e: ss });
    const quote = quoteOutside?.(ss) ?? false;
    if (quote) out.push({ kind: LIT, s: ss, e: ss, lit: QUOTE });
    if (!methodPieces(a.method, src, ss, se, hasher, a.detector.canonical, out)) return null;
    if (quote) out.push({ kind: LIT, s: se, e: se, lit: QUOTE });
    at = se;
  }
  if (at < e) out.push({ kind: COPY, s: at, e });
  return out;
}

export function piecesLength(src: Uint8Array, pieces: readonly Piece[]): number {
  let n = 0;
  for (const p of pieces) {
    if (p.kind === LIT) n += p.lit!.length;
    else if (p.kind === COPY) n += p.e - p.s;
    else n += partialLength(src, p.s, p.e);
  }
  return n;
}

/**
 * Copies src[s, e) into dst at off. Short ranges are copied by hand: a subarray view costs an allocation
 * that outweighs copying a few dozen bytes; long ranges go through the native set.
 */
export function copyBytes(src: Uint8Array, s: number, e: number, dst: Uint8Array, off: number): number {
  if (e - s < 96) {
    for (let i = s; i < e; i++) dst[off++] = src[i]!;
    return off;
  }
  dst.set(src.subarray(s, e), off);
  return off + (e - s);
}

export function writePieces(src: Uint8Array, pieces: readonly Piece[], dst: Uint8Array, off: number): number {
  for (const p of pieces) {
    if (p.kind === LIT) off = copyBytes(p.lit!, 0, p.lit!.length, dst, off);
    else if (p.kind === COPY) off = copyBytes(src, p.s, p.e, dst, off);
    else off = partialWrite(src, p.s, p.e, dst, off);
  }
  return off;
}

/** Materializes pieces into a fresh buffer (for values that must be re-escaped afterwards). */
export function materialize(src: Uint8Array, pieces: readonly Piece[]): Uint8Array {
  const out = new Uint8Array(piecesLength(src, pieces));
  writePieces(src, pieces, out, 0);
  return out;
}

/**
 * For a JSON text starting at s: a function telling whether a position lies outside any string literal.
 * Positions must be asked in ascending order (spans are), so the whole value is walked once.
 */
export function jsonOutsideString(src: Uint8Array, s: number): (pos: number) => boolean {
  let i = s;
  let inside = false;
  return (pos) => {
    for (; i < pos; i++) {
      const b = src[i];
      if (b === 92 && inside) i++;
      else if (b === 34) inside = !inside;
    }
    return !inside;
  };
}
