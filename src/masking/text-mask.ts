// Free text masked as a stream (text/*, JavaScript, bodies without a type): the decision's detectors over
// every byte, and `key: value` / `key=value` / `"key":"value"` pairs whose key is named like a masked
// field (field-plans.ts), so JSON inside text/plain, JSONP and logs are masked by name as well. Chunks
// are joined only around their edges: the last KEEP bytes are held back until the next chunk (a value
// split across chunks is seen whole) unless they end a line (no match spans a line break), and CONTEXT
// bytes already sent stay readable so a key before the cut still names the value after it. Memory per
// stream: one chunk plus those two bounds.
import { CustosError } from "../core/errors.ts";
import type { MaskMethod } from "./detector.ts";
import { type FieldPlans, textMethod } from "./field-plans.ts";
import { materialize, methodPieces, type Piece } from "./pieces.ts";
import { scanValue } from "./scan.ts";

/** Longer than any detector's match (an email is at most 254 bytes) plus its boundary byte. */
const KEEP = 320;
const CONTEXT = 64;
/** A quoted value longer than this is masked up to here and then held no further. */
const MAX_VALUE = 4096;

interface Span {
  s: number;
  e: number;
  method: MaskMethod;
  canonical: boolean;
  /** Evidence: a rule's text or a detector's name, counted when the span is written. */
  rule?: string;
  detector?: string;
}

const detectorSpans: number[] = [];

function isKeyStart(b: number | undefined): boolean {
  return b !== undefined && ((b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b === 95);
}

function isKeyChar(b: number | undefined): boolean {
  return b !== undefined && (isKeyStart(b) || (b >= 48 && b <= 57) || b === 45);
}

function isBlank(b: number | undefined): boolean {
  return b === 32 || b === 9;
}

function isNumberContinuation(b: number | undefined): boolean {
  return b !== undefined && ((b >= 48 && b <= 57) || b === 40 || b === 45 || b === 43);
}

/** Ends an unquoted value. */
function isValueEnd(b: number): boolean {
  return (
    b === 44 ||
    b === 59 ||
    b === 38 ||
    b === 125 ||
    b === 93 ||
    b === 32 ||
    b === 9 ||
    b === 10 ||
    b === 13 ||
    b === 60
  );
}

const decoderLatin1 = new TextDecoder("latin1");

/**
 * Spans to mask in buf[0, end), and the earliest position whose meaning depends on bytes not yet seen
 * (an unfinished `key: value`), or `end` when nothing is pending.
 */
export function textSpans(
  plans: FieldPlans,
  buf: Uint8Array,
  end: number,
  final: boolean,
): { spans: Span[]; pending: number } {
  const spans: Span[] = [];
  let pending = end;
  const p = plans.anonymous;
  if (p.detectors.length > 0) {
    const n = scanValue(buf, 0, end, p.detectors, 0, detectorSpans);
    for (let k = 0; k < n * 3; k += 3) {
      const a = p.detectors[detectorSpans[k + 2]!]!;
      spans.push({
        s: detectorSpans[k]!,
        e: detectorSpans[k + 1]!,
        method: textMethod(a.method),
        canonical: a.detector.canonical,
      });
    }
  }
  const named: Span[] = [];
  for (let i = 0; i < end; i++) {
    if (!isKeyStart(buf[i]) || (i > 0 && isKeyChar(buf[i - 1]))) continue;
    let j = i;
    while (j < end && isKeyChar(buf[j])) j++;
    let k = j;
    if ((buf[k] === 34 || buf[k] === 39) && buf[i - 1] === buf[k]) k++;
    while (k < end && isBlank(buf[k])) k++;
    if (k >= end) {
      if (!final) pending = Math.min(pending, i);
      break;
    }
    if (buf[k] !== 58 && buf[k] !== 61) {
      i = j - 1;
      continue;
    }
    k++;
    while (k < end && isBlank(buf[k])) k++;
    if (k >= end) {
      if (!final) pending = Math.min(pending, i);
      break;
    }
    const key = decoderLatin1.decode(buf.subarray(i, j));
    const plan = plans.plan(key);
    if (plan.method === null) {
      i = j - 1;
      continue;
    }
    const q = buf[k]!;
    let vs = k;
    let ve = k;
    if (q === 34 || q === 39) {
      vs = k + 1;
      ve = vs;
      while (ve < end && buf[ve] !== q && ve - vs < MAX_VALUE) ve += buf[ve] === 92 ? 2 : 1;
      if (ve >= end) {
        if (!final && ve - vs < MAX_VALUE) {
          pending = Math.min(pending, i);
          break;
        }
        ve = end;
      }
    } else if (q === 123 || q === 91) {
      // A structure under a masked name: its members are read on their own.
      i = k;
      continue;
    } else {
      // A blank inside a grouped number (`123 45 6789`, `(212) 555 0187`) does not end the value.
      while (
        ve < end &&
        ve - vs < MAX_VALUE &&
        (!isValueEnd(buf[ve]!) || (isBlank(buf[ve]) && isNumberContinuation(buf[ve + 1])))
      )
        ve++;
      if (ve >= end && !final && ve - vs < MAX_VALUE) {
        pending = Math.min(pending, i);
        break;
      }
    }
    if (ve > end) ve = end;
    if (ve > vs) {
      named.push({ s: vs, e: ve, method: textMethod(plan.method), canonical: false, rule: plan.rule ?? key });
    }
    i = Math.max(i, ve - 1);
  }
  if (named.length === 0) return { spans, pending };
  // Name rules win over detector hits they overlap.
  const merged = named.concat(spans.filter((d) => !named.some((n) => d.s < n.e && n.s < d.e)));
  merged.sort((a, b) => a.s - b.s);
  return { spans: merged, pending };
}

/** buf[from, to) with the spans inside it replaced. */
export function applySpans(
  plans: FieldPlans,
  buf: Uint8Array,
  from: number,
  to: number,
  spans: readonly Span[],
): Uint8Array {
  const pieces: Piece[] = [];
  let at = from;
  for (const sp of spans) {
    if (sp.s < at || sp.e > to) continue;
    if (sp.s > at) pieces.push({ kind: 0, s: at, e: sp.s });
    if (sp.rule !== undefined) plans.count("rules", sp.rule);
    else if (sp.detector !== undefined) plans.count("detectors", sp.detector);
    methodPieces(sp.method, buf, sp.s, sp.e, plans.hasher, sp.canonical, pieces);
    at = sp.e;
  }
  if (at === from && spans.length === 0) return buf.slice(from, to);
  if (at < to) pieces.push({ kind: 0, s: at, e: to });
  return materialize(buf, pieces);
}

/** Masks one whole text value (an SSE data line, a WebSocket text message). */
export function maskText(plans: FieldPlans, bytes: Uint8Array): Uint8Array {
  const { spans } = textSpans(plans, bytes, bytes.length, true);
  return spans.length === 0 ? bytes : applySpans(plans, bytes, 0, bytes.length, spans);
}

/** A stream of text masked on its way, holding back at most `bound` bytes (then it fails closed). */
export function maskTextStream(plans: FieldPlans, bound: number): TransformStream<Uint8Array, Uint8Array> {
  let buf = new Uint8Array(0);
  let ctx = 0;
  const step = (controller: TransformStreamDefaultController<Uint8Array>, final: boolean) => {
    const { spans, pending } = textSpans(plans, buf, buf.length, final);
    let safe = final ? buf.length : Math.max(ctx, Math.min(buf.length - KEEP, pending));
    // No match spans a line break, so complete lines go out at once (a log followed live, an event
    // stream of text) instead of waiting behind the held-back tail.
    if (!final) {
      const nl = buf.lastIndexOf(10);
      if (nl + 1 > safe) safe = Math.min(nl + 1, pending);
    }
    for (const sp of spans) if (sp.s < safe && sp.e > safe) safe = sp.s;
    if (safe < ctx) safe = ctx;
    if (safe > ctx) controller.enqueue(applySpans(plans, buf, ctx, safe, spans));
    const keepFrom = Math.max(0, safe - CONTEXT);
    buf = buf.slice(keepFrom);
    ctx = safe - keepFrom;
    if (buf.length - ctx > bound)
      throw new CustosError(
        "upstream.protocol",
        `a text field exceeds ${bound} bytes, the bound for masking`,
      );
  };
  return new TransformStream({
    transform(chunk, controller) {
      const next = new Uint8Array(buf.length + chunk.length);
      next.set(buf, 0);
      next.set(chunk, buf.length);
      buf = next;
      if (buf.length - ctx > KEEP || chunk.includes(10)) step(controller, false);
    },
    flush(controller) {
      step(controller, true);
    },
  });
}

const EMPTY = new Uint8Array(0);

/**
 * maskTextStream's algorithm without a stream around it, for relays that keep their own backpressure (SSH
 * exec output, Kubernetes exec/attach channels): push() returns what may go out now, end() the rest. One
 * per output stream; a value split across pushes is still caught.
 */
export class TextStreamMasker {
  private buf = new Uint8Array(0);
  private ctx = 0;

  constructor(
    private readonly plans: FieldPlans,
    /** Longest run without a safe cut before the stream fails closed. */
    private readonly bound: number,
  ) {}

  push(chunk: Uint8Array): Uint8Array {
    const next = new Uint8Array(this.buf.length + chunk.length);
    next.set(this.buf, 0);
    next.set(chunk, this.buf.length);
    this.buf = next;
    if (this.buf.length - this.ctx <= KEEP && !chunk.includes(10)) return EMPTY;
    return this.step(false);
  }

  end(): Uint8Array {
    return this.step(true);
  }

  private step(final: boolean): Uint8Array {
    const { plans, buf } = this;
    const { spans, pending } = textSpans(plans, buf, buf.length, final);
    let safe = final ? buf.length : Math.max(this.ctx, Math.min(buf.length - KEEP, pending));
    if (!final) {
      const nl = buf.lastIndexOf(10);
      if (nl + 1 > safe) safe = Math.min(nl + 1, pending);
    }
    for (const sp of spans) if (sp.s < safe && sp.e > safe) safe = sp.s;
    if (safe < this.ctx) safe = this.ctx;
    const out = safe > this.ctx ? applySpans(plans, buf, this.ctx, safe, spans) : EMPTY;
    const keepFrom = Math.max(0, safe - CONTEXT);
    this.buf = buf.slice(keepFrom);
    this.ctx = safe - keepFrom;
    if (this.buf.length - this.ctx > this.bound)
      throw new CustosError(
        "upstream.protocol",
        `output held ${this.bound} bytes without a safe cut for masking`,
      );
    return out;
  }
}
