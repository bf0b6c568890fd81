// Canonical msgpack for audit bodies and recording batches, plus the secret scrub applied before anything
// is stored: defence in depth behind the protocols, which must not hand secrets over in the first place.
import { Decoder, Encoder } from "@msgpack/msgpack";
import type { AuditEvent } from "../core/audit-event.ts";
import type { Frame } from "../core/frame.ts";

// sortKeys makes the bytes canonical: the same event always hashes to the same leaf.
const canonical = new Encoder({ sortKeys: true, ignoreUndefined: true });
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

function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(key.toLowerCase().replace(/[_-]/g, ""));
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
  const body: AuditEvent = { type: e.type, time: e.time, data: e.data };
  if (e.sessionId !== undefined) body.sessionId = e.sessionId;
  return canonical.encode(body);
}

export function decodeEvent(body: Uint8Array): AuditEvent {
  const v = decoder.decode(body);
  if (v === null || typeof v !== "object" || typeof (v as AuditEvent).type !== "string") {
    throw new TypeError("audit event body is not an event");
  }
  return v as AuditEvent;
}

export function encodeFrames(frames: Frame[]): Uint8Array {
  return canonical.encode(frames);
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
