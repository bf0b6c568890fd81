// The injected credential never travels back: an upstream that reflects it (an echo endpoint, a debug
// header, an error quoting the request) would hand the agent the service's secret, and the recording
// would keep it. Every form the upstream may write it in (as sent, base64 with and without padding,
// base64url, percent-encoded, JSON-escaped) is replaced in response headers and bodies, for every
// identity, before the client or the recorder sees a byte.
import type { HttpInjection } from "./target.ts";

const REPLACEMENT = Buffer.from("[REDACTED]");

export interface Scrubber {
  /** The forms searched for, longest first. */
  readonly forms: readonly Buffer[];
  /** Longest form, for the bytes a stream holds back. */
  readonly longest: number;
}

function variants(secret: string): string[] {
  const out = new Set<string>();
  const add = (s: string) => {
    if (s.length > 0) out.add(s);
  };
  add(secret);
  const b64 = Buffer.from(secret).toString("base64");
  add(b64);
  add(b64.replace(/=+$/, ""));
  add(Buffer.from(secret).toString("base64url"));
  add(encodeURIComponent(secret));
  add(encodeURIComponent(secret).replace(/%20/g, "+"));
  for (const s of [...out]) if (s.includes("/")) add(s.replaceAll("/", "\\/"));
  return [...out];
}

export function scrubberFor(inject: HttpInjection | null): Scrubber | null {
  if (!inject) return null;
  const secrets: string[] = [];
  switch (inject.kind) {
    case "header":
    case "query":
      secrets.push(inject.value.reveal());
      break;
    case "bearer":
      secrets.push(inject.token.reveal());
      break;
    case "basic": {
      const pw = inject.password.reveal();
      secrets.push(pw, `${inject.user}:${pw}`);
      break;
    }
  }
  const forms = [...new Set(secrets.flatMap(variants))]
    .filter((s) => s.length >= 4)
    .sort((a, b) => b.length - a.length)
    .map((s) => Buffer.from(s));
  if (forms.length === 0) return null;
  return { forms, longest: forms[0]!.length };
}

/** Positions of every form in buf[0, end) as [start, end) pairs, non-overlapping, in order. */
function hits(s: Scrubber, buf: Buffer, end: number): number[] {
  const found: number[] = [];
  for (const f of s.forms) {
    let at = buf.indexOf(f, 0);
    while (at !== -1 && at + f.length <= end) {
      found.push(at, at + f.length);
      at = buf.indexOf(f, at + 1);
    }
  }
  if (found.length <= 2) return found;
  const order: [number, number][] = [];
  for (let k = 0; k < found.length; k += 2) order.push([found[k]!, found[k + 1]!]);
  order.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [a, b] of order) {
    const last = out.length - 1;
    if (last > 0 && a < out[last]!) out[last] = Math.max(out[last]!, b);
    else out.push(a, b);
  }
  return out;
}

function replace(buf: Buffer, from: number, to: number, spans: readonly number[]): Uint8Array {
  if (spans.length === 0) return buf.subarray(from, to);
  const parts: Uint8Array[] = [];
  let at = from;
  for (let k = 0; k < spans.length; k += 2) {
    const a = spans[k]!;
    const b = spans[k + 1]!;
    if (b > to) break;
    if (a > at) parts.push(buf.subarray(at, a));
    parts.push(REPLACEMENT);
    at = b;
  }
  if (at < to) parts.push(buf.subarray(at, to));
  return Buffer.concat(parts);
}

/** A whole body scrubbed. */
export function scrubBytes(s: Scrubber, bytes: Uint8Array): Uint8Array {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const spans = hits(s, buf, buf.length);
  return spans.length === 0 ? bytes : replace(buf, 0, buf.length, spans);
}

export function scrubText(s: Scrubber, text: string): string {
  let out = text;
  for (const f of s.forms) out = out.replaceAll(f.toString(), REPLACEMENT.toString());
  return out;
}

/** Response headers with every form replaced in every value. */
export function scrubHeaders(s: Scrubber, headers: Headers): void {
  const cookies = headers.getSetCookie();
  for (const [name, value] of [...headers]) {
    if (name === "set-cookie") continue;
    const clean = scrubText(s, value);
    if (clean !== value) headers.set(name, clean);
  }
  if (cookies.some((c) => scrubText(s, c) !== c)) {
    headers.delete("set-cookie");
    for (const c of cookies) headers.append("set-cookie", scrubText(s, c));
  }
}

/**
 * Where the tail of buf[0, end) could begin a form not yet complete: the earliest position whose bytes
 * to the end are a prefix of some form, or `end`. Only that much waits, so an event stream's events are
 * not held back behind a credential that is not coming.
 */
function partialTail(s: Scrubber, buf: Buffer, end: number): number {
  for (let p = Math.max(0, end - s.longest + 1); p < end; p++) {
    const n = end - p;
    for (const f of s.forms) {
      if (f.length > n && buf.compare(f, 0, n, p, end) === 0) return p;
    }
  }
  return end;
}

/** A stream scrubbed on its way: only a tail that may begin a form waits for the next chunk. */
export function scrubStream(s: Scrubber): TransformStream<Uint8Array, Uint8Array> {
  let held: Buffer = Buffer.alloc(0);
  return new TransformStream({
    transform(chunk, controller) {
      const buf = held.length
        ? Buffer.concat([held, chunk])
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
      const spans = hits(s, buf, buf.length);
      let safe = partialTail(s, buf, buf.length);
      for (let k = 0; k < spans.length; k += 2)
        if (spans[k]! < safe && spans[k + 1]! > safe) safe = spans[k]!;
      if (safe > 0) controller.enqueue(replace(buf, 0, safe, spans));
      held = safe < buf.length ? Buffer.from(buf.subarray(safe)) : Buffer.alloc(0);
    },
    flush(controller) {
      if (held.length) controller.enqueue(scrubBytes(s, held));
    },
  });
}
