// Canonical msgpack, written straight into a growable buffer: the same bytes as @msgpack/msgpack's
// Encoder({ sortKeys: true, ignoreUndefined: true }) for the values audit events and frames are made of
// (plain objects, arrays, strings, numbers, booleans, null, byte arrays), about twice as fast: keys that
// are already in order (the common case: events are built that way) are checked, not sorted, and nothing
// is copied out. Anything else (a Date, a Map, a bigint, a class instance) is handed to the library whole,
// so the bytes stay the library's in every case. Used on the gateway's thread, where each event and frame
// is encoded once and the bytes are transferred to the recorder worker.
import { Encoder } from "@msgpack/msgpack";

const library = new Encoder({ sortKeys: true, ignoreUndefined: true });
const MAX_DEPTH = 100;
/** The library writes strings longer than this with TextEncoder (lone surrogates become U+FFFD). */
const TEXT_ENCODER_THRESHOLD = 50;
const textEncoder = new TextEncoder();

class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported("not a plain value");

/** An append-only byte buffer that grows by doubling. take() hands its bytes over and starts afresh. */
export class ByteSink {
  bytes: Uint8Array;
  private view: DataView;
  used = 0;

  constructor(private readonly initial = 4096) {
    this.bytes = new Uint8Array(initial);
    this.view = new DataView(this.bytes.buffer);
  }

  ensure(n: number): void {
    const need = this.used + n;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.used));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.bytes[this.used++] = v;
  }

  u16(tag: number, v: number): void {
    this.ensure(3);
    this.bytes[this.used] = tag;
    this.view.setUint16(this.used + 1, v);
    this.used += 3;
  }

  u32(tag: number, v: number): void {
    this.ensure(5);
    this.bytes[this.used] = tag;
    this.view.setUint32(this.used + 1, v);
    this.used += 5;
  }

  /** msgpack's 64-bit integers for safe integers, split as the library splits them. */
  u64(tag: number, v: number): void {
    this.ensure(9);
    this.bytes[this.used] = tag;
    this.view.setUint32(this.used + 1, Math.floor(v / 4294967296));
    this.view.setUint32(this.used + 5, v);
    this.used += 9;
  }

  f64(v: number): void {
    this.ensure(9);
    this.bytes[this.used] = 0xcb;
    this.view.setFloat64(this.used + 1, v);
    this.used += 9;
  }

  raw(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    // A native set() costs more than a loop for the few bytes of a key (statement-event.ts writes 20 a time).
    if (n <= 16) {
      const out = this.bytes;
      let o = this.used;
      for (let i = 0; i < n; i++) out[o++] = b[i]!;
    } else this.bytes.set(b, this.used);
    this.used += n;
  }

  /**
   * raw() for a frame's payload (a stretch of a relayed byte stream), the one write that can be large: a
   * sink that hands its bytes over in parts may keep a long one as a part of its own instead of copying it
   * into a buffer that grows by doubling (recorder-frames.ts). Never called by writeCanonical, whose
   * rollback on failure only resets `used`.
   */
  payload(b: Uint8Array): void {
    this.raw(b);
  }

  /** The bytes written so far, as a view (for a sink that is dropped afterwards). */
  written(): Uint8Array {
    return this.bytes.subarray(0, this.used);
  }

  /**
   * The bytes written so far (a view), and a fresh buffer for what comes next, sized for as much again
   * (at least 1 KiB, at most the initial size): the recorder takes its event buffer every few
   * milliseconds, and a full-size zeroed buffer each time cost more than the few events in it.
   */
  take(): Uint8Array {
    const out = this.bytes.subarray(0, this.used);
    let next = 1024;
    while (next < this.used && next < this.initial) next *= 2;
    this.bytes = new Uint8Array(Math.min(next, this.initial));
    this.view = new DataView(this.bytes.buffer);
    this.used = 0;
    return out;
  }
}

/**
 * Values of secret-named keys replaced while encoding (one pass over each object instead of a scrub pass
 * and an encode pass). `apply` does the same to a whole value, for the library's path.
 */
export interface Redaction {
  isSecret(key: string): boolean;
  replacement: string;
  /** Objects nested deeper than this are written as they are. */
  maxDepth: number;
  apply(value: unknown): unknown;
}

/** Appends the canonical encoding of `value` to `sink`. Throws (leaving `sink` as it was) if it cannot. */
export function writeCanonical(sink: ByteSink, value: unknown, redaction?: Redaction): void {
  const start = sink.used;
  try {
    write(sink, value, 0, redaction);
  } catch (err) {
    sink.used = start;
    if (!(err instanceof Unsupported)) throw err;
    sink.raw(library.encode(redaction ? redaction.apply(value) : value));
  }
}

/** The canonical encoding of `value` as its own bytes. */
export function encodeCanonical(value: unknown): Uint8Array {
  const sink = new ByteSink(256);
  writeCanonical(sink, value);
  return sink.bytes.slice(0, sink.used);
}

function write(s: ByteSink, v: unknown, depth: number, r: Redaction | undefined): void {
  if (v === null || v === undefined) s.u8(0xc0);
  else if (typeof v === "string") writeString(s, v);
  else if (typeof v === "number") writeNumber(s, v);
  else if (typeof v === "boolean") s.u8(v ? 0xc3 : 0xc2);
  else if (depth >= MAX_DEPTH) throw UNSUPPORTED;
  else if (Array.isArray(v)) {
    writeArrayHeader(s, v.length);
    for (let i = 0; i < v.length; i++) write(s, v[i], depth + 1, r);
  } else if (v instanceof Uint8Array) writeBinary(s, v);
  else if (typeof v === "object" && isPlain(v)) writeMap(s, v as Record<string, unknown>, depth, r);
  else throw UNSUPPORTED;
}

function isPlain(o: object): boolean {
  const proto = Object.getPrototypeOf(o);
  return proto === Object.prototype || proto === null;
}

/** The pieces, for encoders of fixed shapes (codec.writeBytesFrame) that write keys in order themselves. */
export function writeMapHeader(s: ByteSink, size: number): void {
  if (size < 16) s.u8(0x80 + size);
  else if (size < 0x10000) s.u16(0xde, size);
  else s.u32(0xdf, size);
}

/** An array's header; its items follow (a stored batch of frames is this header, then the frames). */
export function writeArrayHeader(s: ByteSink, n: number): void {
  if (n < 16) s.u8(0x90 + n);
  else if (n < 0x10000) s.u16(0xdc, n);
  else s.u32(0xdd, n);
}

export function writeBinary(s: ByteSink, v: Uint8Array): void {
  writeBinaryHeader(s, v.byteLength);
  s.raw(v);
}

/** msgpack bin 8/16/32 header for n bytes. */
export function writeBinaryHeader(s: ByteSink, n: number): void {
  if (n < 0x100) {
    s.ensure(2);
    s.bytes[s.used++] = 0xc4;
    s.bytes[s.used++] = n;
  } else if (n < 0x10000) s.u16(0xc5, n);
  else s.u32(0xc6, n);
}

export { writeNumber, writeString };

/**
 * One value of an object at `depth`, for encoders of fixed shapes (statement-event.ts): throws, leaving
 * `s` partly written, where writeCanonical would hand the value to the library; the caller falls back.
 */
export function writeValue(s: ByteSink, v: unknown, depth: number, r: Redaction | undefined): void {
  write(s, v, depth, r);
}

function writeMap(s: ByteSink, o: Record<string, unknown>, depth: number, r: Redaction | undefined): void {
  const keys = Object.keys(o);
  const n = keys.length;
  let sorted = true;
  for (let i = 1; i < n; i++) {
    if (keys[i - 1]! > keys[i]!) {
      sorted = false;
      break;
    }
  }
  // The few keys of an audit object sort faster by insertion than by Array.prototype.sort (which costs
  // about a microsecond per call here); both order by UTF-16 code units, as the library does.
  if (!sorted) n <= 32 ? insertionSort(keys) : keys.sort();
  const redact = r !== undefined && depth <= r.maxDepth ? r : undefined;
  if (n < 16) {
    // A fixmap whatever is left out: write a placeholder header, then each key once, and patch the count.
    s.u8(0x80);
    const header = s.used - 1;
    let size = 0;
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      const known = k.length <= KEY_CACHE_LENGTH ? knownKey(k, redact) : undefined;
      const secret = known ? known.secret : redact?.isSecret(k);
      const value = secret ? redact!.replacement : o[k];
      if (value === undefined) continue;
      size++;
      if (known) {
        const kb = known.bytes;
        s.ensure(kb.length);
        const b = s.bytes;
        for (let j = 0; j < kb.length; j++) b[s.used + j] = kb[j]!;
        s.used += kb.length;
      } else writeString(s, k);
      write(s, value, depth + 1, r);
    }
    s.bytes[header] = 0x80 + size;
    return;
  }
  let size = 0;
  for (const k of keys) if (o[k] !== undefined || redact?.isSecret(k)) size++;
  writeMapHeader(s, size);
  for (const k of keys) {
    const value = redact?.isSecret(k) ? redact.replacement : o[k];
    if (value === undefined) continue;
    writeString(s, k);
    write(s, value, depth + 1, r);
  }
}

/**
 * A short key's encoding and whether `redaction` hides its value, per key name. Events and frames repeat
 * the same few dozen key names, and each was encoded and looked up in the secret-name cache at every use:
 * one lookup here does both (bench/RESULTS.md, issue 23, fifth pass). The secret answer is the
 * redaction's own, kept for the redaction it was asked of and asked again under any other.
 */
interface KnownKey {
  bytes: Uint8Array;
  redaction: Redaction | undefined;
  secret: boolean;
}
const knownKeys = new Map<string, KnownKey>();
/** Payload keys (an HTTP JSON body's) are chosen by clients: only short ones, and a bounded number. */
const KEY_CACHE_LENGTH = 32;
const KEY_CACHE_SIZE = 4096;
const keySink = new ByteSink(256);

function knownKey(k: string, redaction: Redaction | undefined): KnownKey {
  let known = knownKeys.get(k);
  if (known === undefined) {
    keySink.used = 0;
    writeString(keySink, k);
    known = { bytes: keySink.bytes.slice(0, keySink.used), redaction: undefined, secret: false };
    if (knownKeys.size >= KEY_CACHE_SIZE) knownKeys.clear();
    knownKeys.set(k, known);
  }
  if (known.redaction !== redaction) {
    known.redaction = redaction;
    known.secret = redaction?.isSecret(k) === true;
  }
  return known;
}

function insertionSort(keys: string[]): void {
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
}

function writeNumber(s: ByteSink, v: number): void {
  if (!Number.isSafeInteger(v)) return s.f64(v);
  if (v >= 0) {
    if (v < 0x80) s.u8(v);
    else if (v < 0x100) {
      s.ensure(2);
      s.bytes[s.used++] = 0xcc;
      s.bytes[s.used++] = v;
    } else if (v < 0x10000) s.u16(0xcd, v);
    else if (v < 0x100000000) s.u32(0xce, v);
    else s.u64(0xcf, v);
  } else if (v >= -0x20) s.u8(0xe0 | (v + 0x20));
  else if (v >= -0x80) {
    s.ensure(2);
    s.bytes[s.used++] = 0xd0;
    s.bytes[s.used++] = v & 0xff;
  } else if (v >= -0x8000) s.u16(0xd1, v & 0xffff);
  else if (v >= -0x80000000) s.u32(0xd2, v >>> 0);
  else s.u64(0xd3, v);
}

/** Longer strings are tried as ASCII in JS first: a native encodeInto call costs more than the loop. */
const ASCII_LOOP_MAX = 1024;

function writeString(s: ByteSink, str: string): void {
  const n = str.length;
  if (n > TEXT_ENCODER_THRESHOLD && n <= ASCII_LOOP_MAX && writeAscii(s, str)) return;
  // Worst case 3 bytes per UTF-16 unit, plus the header.
  s.ensure(5 + n * 3);
  const b = s.bytes;
  if (n <= TEXT_ENCODER_THRESHOLD) {
    // Written after a header sized for < 32 bytes; moved right if it came out longer.
    let o = s.used + 1;
    for (let i = 0; i < n; i++) {
      let c = str.charCodeAt(i);
      if (c < 0x80) {
        b[o++] = c;
        continue;
      }
      if (c < 0x800) {
        b[o++] = ((c >> 6) & 0x1f) | 0xc0;
      } else {
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
          const lo = str.charCodeAt(i + 1);
          if ((lo & 0xfc00) === 0xdc00) {
            i++;
            c = ((c & 0x3ff) << 10) + (lo & 0x3ff) + 0x10000;
          }
        }
        if (c < 0x10000) {
          b[o++] = ((c >> 12) & 0x0f) | 0xe0;
          b[o++] = ((c >> 6) & 0x3f) | 0x80;
        } else {
          b[o++] = ((c >> 18) & 0x07) | 0xf0;
          b[o++] = ((c >> 12) & 0x3f) | 0x80;
          b[o++] = ((c >> 6) & 0x3f) | 0x80;
        }
      }
      b[o++] = (c & 0x3f) | 0x80;
    }
    const len = o - s.used - 1;
    if (len < 32) {
      b[s.used] = 0xa0 + len;
      s.used = o;
    } else {
      // str 8 (at most 150 bytes here): one more header byte.
      b.copyWithin(s.used + 2, s.used + 1, o);
      b[s.used] = 0xd9;
      b[s.used + 1] = len;
      s.used = o + 1;
    }
    return;
  }
  writeEncoded(s, str);
}

/** Writes `str` if it is all ASCII (where every encoder agrees on the bytes); false, writing nothing, if not. */
function writeAscii(s: ByteSink, str: string): boolean {
  const n = str.length;
  const header = n < 32 ? 1 : n < 0x100 ? 2 : 3;
  s.ensure(header + n);
  const b = s.bytes;
  let o = s.used + header;
  for (let i = 0; i < n; i++) {
    const c = str.charCodeAt(i);
    if (c >= 0x80) return false;
    b[o++] = c;
  }
  if (header === 1) b[s.used] = 0xa0 + n;
  else if (header === 2) {
    b[s.used] = 0xd9;
    b[s.used + 1] = n;
  } else {
    b[s.used] = 0xda;
    b[s.used + 1] = n >> 8;
    b[s.used + 2] = n & 0xff;
  }
  s.used = o;
  return true;
}

function writeEncoded(s: ByteSink, str: string): void {
  const n = str.length;
  s.ensure(5 + n * 3);
  const b = s.bytes;
  // Header sized for the worst case, then moved left to the real length's header.
  const start = s.used;
  const body = start + 5;
  const len = textEncoder.encodeInto(str, b.subarray(body)).written;
  let header: number;
  if (len < 32) {
    b[start] = 0xa0 + len;
    header = 1;
  } else if (len < 0x100) {
    b[start] = 0xd9;
    b[start + 1] = len;
    header = 2;
  } else if (len < 0x10000) {
    b[start] = 0xda;
    b[start + 1] = len >> 8;
    b[start + 2] = len & 0xff;
    header = 3;
  } else {
    b[start] = 0xdb;
    b[start + 1] = len >>> 24;
    b[start + 2] = (len >> 16) & 0xff;
    b[start + 3] = (len >> 8) & 0xff;
    b[start + 4] = len & 0xff;
    header = 5;
  }
  if (header < 5) b.copyWithin(start + header, body, body + len);
  s.used = start + header + len;
}
