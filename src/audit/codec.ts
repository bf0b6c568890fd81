// Canonical msgpack for audit bodies and recording batches, plus the secret scrub applied before anything
// is stored: defence in depth behind the protocols, which must not hand secrets over in the first place.
import { Decoder } from "@msgpack/msgpack";
import type { AuditEvent } from "../core/audit-event.ts";
import type { Frame } from "../core/frame.ts";
import {
  type ByteSink,
  encodeCanonical,
  type Redaction,
  writeBinaryHeader,
  writeCanonical,
  writeMapHeader,
  writeNumber,
  writeString,
} from "./canonical.ts";

const decoder = new Decoder();

/** Keys whose values are never stored, compared after lower-casing and dropping `_`/`-`. */
const SECRET_KEYS = new Set([
  "password",
  "passwd",
  "pwd",
  "secret",
  "clientsecret",
  "token",
  "accesstoken",
  "idtoken",
  "refreshtoken",
  "credential",
  "credentials",
  "authorization",
  "privatekey",
  "apikey",
]);
export const REDACTED = "[redacted]";

/** Frame kinds whose whole payload is a secret (PostgreSQL PasswordMessage / SASL responses). */
const SECRET_FRAME_KINDS = new Set(["PasswordMessage", "SASLInitialResponse", "SASLResponse", "GSSResponse"]);

/** Answers per key name: events repeat the same few dozen names, and every key of every event is asked. */
const secretKeyCache = new Map<string, boolean>();

export function isSecretKey(key: string): boolean {
  let secret = secretKeyCache.get(key);
  if (secret === undefined) {
    secret = SECRET_KEYS.has(key.toLowerCase().replace(/[_-]/g, ""));
    // Bounded: keys are names chosen by code, but a payload's keys (an HTTP JSON body) are not.
    if (secretKeyCache.size >= 4096) secretKeyCache.clear();
    secretKeyCache.set(key, secret);
  }
  return secret;
}

/** Returns `value` with secret-named fields replaced; copies only the objects it changes. */
export function scrub(value: unknown, depth = 0): unknown {
  if (depth > 32 || value === null || typeof value !== "object" || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = scrub(value[i], depth + 1);
      if (v !== value[i]) {
        out ??= value.slice();
        out[i] = v;
      }
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = isSecretKey(key) ? REDACTED : scrub(obj[key], depth + 1);
    if (v !== obj[key]) {
      out ??= { ...obj };
      out[key] = v;
    }
  }
  return out ?? value;
}

export function scrubEvent(e: AuditEvent): AuditEvent {
  const data = scrub(e.data) as Record<string, unknown>;
  return data === e.data ? e : { ...e, data };
}

export function scrubFrame(f: Frame): Frame {
  if (f.data === undefined) return f;
  if (SECRET_FRAME_KINDS.has(f.kind)) return { t: f.t, dir: f.dir, kind: f.kind, data: { redacted: true } };
  const data = scrub(f.data) as Record<string, unknown>;
  return data === f.data ? f : { ...f, data };
}

/** The stored body of an event: canonical msgpack of {type, time, sessionId?, data}. */
export function encodeEvent(e: AuditEvent): Uint8Array {
  return encodeCanonical(eventBody(e));
}

/**
 * scrub(), applied while encoding: the body's own keys (data, sessionId, time, type; dir, kind, t) are never
 * secret, so depth 1 here is depth 0 of scrub() and the depth bounds match.
 */
export const SCRUB: Redaction = {
  isSecret: isSecretKey,
  replacement: REDACTED,
  maxDepth: 33,
  apply: (v) => scrub(v),
};

/** Keys in canonical order already, so the encoder checks rather than sorts them. */
const eventBody = (e: AuditEvent) => ({ data: e.data, sessionId: e.sessionId, time: e.time, type: e.type });

/**
 * Appends an event's stored body (scrubbed, canonical) to `sink`. A value msgpack cannot encode (a BigInt, a
 * cycle) must not wedge the log: the event is kept with its envelope and the reason, so the gap is visible.
 */
export function writeEvent(sink: ByteSink, e: AuditEvent): void {
  try {
    writeCanonical(sink, eventBody(e), SCRUB);
  } catch (err) {
    writeCanonical(sink, eventBody({ ...e, data: { unencodable: describeError(err) } }));
  }
}

/** Appends one frame (scrubbed, canonical) to `sink`; an unencodable frame is kept as a note of why. */
export function writeFrame(sink: ByteSink, f: Frame): void {
  const data = f.data !== undefined && SECRET_FRAME_KINDS.has(f.kind) ? { redacted: true } : f.data;
  try {
    writeCanonical(sink, { data, dir: f.dir, kind: f.kind, t: f.t }, SCRUB);
  } catch (err) {
    writeCanonical(sink, { data: { unencodable: describeError(err) }, dir: f.dir, kind: f.kind, t: f.t });
  }
}

const DATA_BYTES = Uint8Array.of(0xa4, ...Buffer.from("data"), 0x81, 0xa5, ...Buffer.from("bytes"));
const DIR = Uint8Array.of(0xa3, ...Buffer.from("dir"));
const KIND = Uint8Array.of(0xa4, ...Buffer.from("kind"));
const T = Uint8Array.of(0xa1, 0x74);

/**
 * writeFrame for the commonest frame, a stretch of a byte stream ({t, dir, kind, data: {bytes}}), written
 * without building the frame: the same bytes, a fraction of the work (it runs twice per relayed command).
 */
export function writeBytesFrame(
  sink: ByteSink,
  t: number,
  dir: string,
  kind: string,
  bytes: Uint8Array,
): void {
  if (SECRET_FRAME_KINDS.has(kind))
    return writeFrame(sink, { t, dir: dir as Frame["dir"], kind, data: { bytes } });
  writeMapHeader(sink, 4);
  sink.raw(DATA_BYTES);
  writeBinaryHeader(sink, bytes.byteLength);
  sink.payload(bytes);
  sink.raw(DIR);
  writeString(sink, dir);
  sink.raw(KIND);
  writeString(sink, kind);
  sink.raw(T);
  writeNumber(sink, t);
}

export const describeError = (err: unknown) =>
  (err instanceof Error ? err.message : String(err)).slice(0, 200);

export function decodeEvent(body: Uint8Array): AuditEvent {
  const v = decoder.decode(body);
  if (v === null || typeof v !== "object" || typeof (v as AuditEvent).type !== "string") {
    throw new TypeError("audit event body is not an event");
  }
  return v as AuditEvent;
}

export function encodeFrames(frames: Frame[]): Uint8Array {
  return encodeCanonical(frames);
}

export function decodeFrames(data: Uint8Array): Frame[] {
  const v = decoder.decode(data);
  if (!Array.isArray(v)) throw new TypeError("recording batch is not a frame list");
  return v as Frame[];
}

export function sha256(data: Uint8Array): Uint8Array {
  return new Bun.CryptoHasher("sha256").update(data).digest() as unknown as Uint8Array;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
