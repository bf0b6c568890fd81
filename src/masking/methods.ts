// Masking methods over byte ranges. `redact` writes the fixed placeholder `[REDACTED]` (unmistakable to a
// reader, never a valid card, SSN or email, and free of tab, comma, quote and backslash so it needs no
// escaping in COPY output). `partial` keeps the last four letters or digits (at most half of them, so a
// short value is never left whole) and the punctuation, replacing the rest with `*`. `hash` writes
// `hmac:` and 16 hex digits of HMAC-SHA-256 under the deployment's key: stable, so joins and GROUP BY on
// masked values still work, and keyed, so a 9-digit SSN space cannot be brute-forced offline.
// `null` replaces the whole value with SQL NULL.
import { createHmac } from "node:crypto";
import type { MaskMethod } from "./detector.ts";

export const REDACTED = new TextEncoder().encode("[REDACTED]");
const STAR = 42;
const HASH_PREFIX = "hmac:";
const HASH_HEX = 16;

/** Strength order: when rules or detectors overlap, the stronger method wins. */
export const METHOD_RANK: Record<MaskMethod, number> = { partial: 0, hash: 1, redact: 2, null: 3 };

export function stronger(a: MaskMethod, b: MaskMethod): MaskMethod {
  return METHOD_RANK[a] >= METHOD_RANK[b] ? a : b;
}

function isAlnumAscii(b: number): boolean {
  return (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122);
}

/** Letters and digits to keep at the end; a UTF-8 sequence counts as one character and is masked as one `*`. */
function keepCount(buf: Uint8Array, s: number, e: number): number {
  let n = 0;
  for (let i = s; i < e; i++) {
    const b = buf[i]!;
    if (isAlnumAscii(b) || b >= 0xc0) n++;
  }
  return Math.min(4, n >> 1);
}

/** Output length of `partial` over buf[s, e). */
export function partialLength(buf: Uint8Array, s: number, e: number): number {
  let ascii = true;
  for (let i = s; i < e; i++) if (buf[i]! >= 0x80) ascii = false;
  if (ascii) return e - s; // one byte out per byte in
  let len = 0;
  let keep = keepCount(buf, s, e);
  for (let i = e - 1; i >= s; i--) {
    const b = buf[i]!;
    if (b >= 0x80 && b < 0xc0) {
      if (keep > 0) len++;
      continue;
    }
    const word = isAlnumAscii(b) || b >= 0xc0;
    if (word && keep > 0) {
      keep--;
      len++;
    } else len++;
  }
  return len;
}

/** Writes `partial` of buf[s, e) into dst at off; returns the new offset. */
export function partialWrite(buf: Uint8Array, s: number, e: number, dst: Uint8Array, off: number): number {
  // ASCII (nearly every masked value): one pass counts the letters and digits, one writes, left to right.
  let words = 0;
  let i = s;
  for (; i < e; i++) {
    const b = buf[i]!;
    if (b >= 0x80) break;
    if (isAlnumAscii(b)) words++;
  }
  if (i === e) {
    let star = words - Math.min(4, words >> 1);
    for (let k = s; k < e; k++) {
      const b = buf[k]!;
      if (star > 0 && isAlnumAscii(b)) {
        star--;
        dst[off++] = STAR;
      } else dst[off++] = b;
    }
    return off;
  }
  return partialWriteUtf8(buf, s, e, dst, off);
}

function partialWriteUtf8(buf: Uint8Array, s: number, e: number, dst: Uint8Array, off: number): number {
  const len = partialLength(buf, s, e);
  let w = off + len;
  let keep = keepCount(buf, s, e);
  // Right to left, so "the last four" is decided without a second pass.
  for (let i = e - 1; i >= s; i--) {
    const b = buf[i]!;
    if (b >= 0x80 && b < 0xc0) {
      if (keep > 0) dst[--w] = b;
      continue;
    }
    const word = isAlnumAscii(b) || b >= 0xc0;
    if (word) {
      if (keep > 0) {
        keep--;
        dst[--w] = b;
      } else dst[--w] = STAR;
    } else dst[--w] = b;
  }
  return off + len;
}

/** Keyed, stable pseudonyms with a small cache for the short values that repeat (ids, SSNs, emails). */
export class Hasher {
  // Keyed by an FNV-1a of the bytes and confirmed byte for byte: no string is built per lookup.
  private readonly cache = new Map<number, { value: Uint8Array; out: Uint8Array }>();
  private readonly scratch = new Uint8Array(64);

  constructor(
    private readonly key: Uint8Array,
    private readonly maxCache = 8192,
  ) {}

  /** `canonical`: hash only the letters and digits, upper-cased, so separators do not change the result. */
  hash(buf: Uint8Array, s: number, e: number, canonical = false): Uint8Array {
    let src = buf;
    if (canonical && e - s <= this.scratch.length) {
      let n = 0;
      for (let i = s; i < e; i++) {
        const b = buf[i]!;
        if (isAlnumAscii(b)) this.scratch[n++] = b >= 97 ? b - 32 : b;
      }
      src = this.scratch;
      s = 0;
      e = n;
    }
    const short = e - s <= 64;
    let h = 0x811c9dc5;
    if (short) {
      for (let i = s; i < e; i++) h = Math.imul(h ^ src[i]!, 0x01000193);
      const hit = this.cache.get(h);
      if (hit && sameBytes(hit.value, src, s, e)) return hit.out;
    }
    const digest = createHmac("sha256", this.key).update(src.subarray(s, e)).digest("hex");
    const out = new TextEncoder().encode(HASH_PREFIX + digest.slice(0, HASH_HEX));
    if (short) {
      if (this.cache.size >= this.maxCache) this.cache.clear();
      this.cache.set(h, { value: src.slice(s, e), out });
    }
    return out;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array, s: number, e: number): boolean {
  if (a.length !== e - s) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[s + i]) return false;
  return true;
}
