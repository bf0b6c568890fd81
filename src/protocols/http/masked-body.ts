// A masked identity's response body, by content kind (content-kind.ts): JSON, forms and XML read whole
// within `limits.mask_body` and rewritten; text, CSV, event streams and NDJSON masked as streams. Text
// that opens like JSON (text/plain carrying JSON, an untyped body) or JavaScript that wraps JSON (JSONP)
// is read whole and masked as JSON, so nested and escaped members are masked by name too (refused past
// the bound; masked as text when it does not parse). Bodies in a charset the detectors cannot read (UTF-16, UTF-32) and
// types no masker reads are refused.
import { CustosError } from "../../core/errors.ts";
import type { FieldPlans } from "../../masking/field-plans.ts";
import {
  maskCsvStream,
  maskForm,
  maskNdjsonStream,
  maskSseStream,
  maskXml,
} from "../../masking/structured-mask.ts";
import { maskText, maskTextStream } from "../../masking/text-mask.ts";
import { head, readBounded, tap } from "./body.ts";
import { type ContentKind, mediaType } from "./content-kind.ts";
import type { ResponseMasking } from "./response.ts";
import { type Scrubber, scrubBytes, scrubStream } from "./scrub.ts";

export interface MaskedContext {
  masking: ResponseMasking;
  kind: ContentKind;
  contentType: string | null;
  source: ReadableStream<Uint8Array>;
  /**
   * The whole body in one native read, when the upstream declared a length within the masking bound and
   * sent it unencoded (Bun reads exactly the declared bytes); null otherwise (read through `source`).
   */
  readWhole: (() => Promise<Uint8Array>) | null;
  cancel(): Promise<unknown>;
  maskBody: number;
  recordBody: number;
  scrubber: Scrubber | null;
  status: number;
  init: ResponseInit;
  record(body: Uint8Array | undefined, bytes: number, end: string): void;
  fail(e: CustosError): Response;
  done(status: number, detail: Record<string, unknown>): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Charsets whose digits, letters and punctuation are the ASCII bytes the detectors read. */
const READABLE_CHARSETS = new Set([
  "utf-8",
  "utf8",
  "us-ascii",
  "ascii",
  "iso-8859-1",
  "latin1",
  "windows-1252",
]);

const JAVASCRIPT = new Set([
  "application/javascript",
  "application/x-javascript",
  "text/javascript",
  "application/ecmascript",
]);

/** Structural response fields whose values hold no data of the record. */
const STRUCTURAL = new Set([
  "content-type",
  "content-length",
  "content-encoding",
  "content-language",
  "date",
  "last-modified",
  "expires",
  "etag",
  "vary",
  "cache-control",
  "accept-ranges",
  "via",
  "server",
]);

/** Every other header value masked by its name (`x-customer-ssn`) and the detectors. */
export function maskHeaders(plans: FieldPlans, headers: Headers): void {
  const cookies = headers.getSetCookie();
  for (const [name, value] of [...headers]) {
    if (STRUCTURAL.has(name) || name === "set-cookie") continue;
    const masked = plans.field(name, value);
    if (masked !== value) headers.set(name, masked);
  }
  if (cookies.length) {
    headers.delete("set-cookie");
    for (const c of cookies) headers.append("set-cookie", plans.scan(c, plans.anonymous));
  }
}

function charsetOf(contentType: string | null): string | null {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "");
  return m ? m[1]!.toLowerCase() : null;
}

/** Reads until the first byte that is not white space (or 1 KiB); the stream is given back whole. */
async function peekStart(
  source: ReadableStream<Uint8Array>,
): Promise<{ first: number | null; bom16: boolean; stream: ReadableStream<Uint8Array> }> {
  const reader = source.getReader();
  const seen: Uint8Array[] = [];
  let n = 0;
  let first: number | null = null;
  let done = false;
  while (first === null && n < 1024) {
    const r = await reader.read();
    if (r.done) {
      done = true;
      break;
    }
    seen.push(r.value);
    for (const b of r.value) {
      n++;
      if (b !== 32 && b !== 9 && b !== 10 && b !== 13) {
        first = b;
        break;
      }
    }
  }
  const start = seen[0];
  const bom16 =
    start !== undefined &&
    start.length >= 2 &&
    ((start[0] === 0xff && start[1] === 0xfe) || (start[0] === 0xfe && start[1] === 0xff));
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (i < seen.length) {
        c.enqueue(seen[i++]!);
        return;
      }
      if (done) return c.close();
      const r = await reader.read();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { first, bom16, stream };
}

const JSONP = /^\s*((?:\/\*\*\/)?\s*[A-Za-z_$][\w$.]*\s*\()([\s\S]*)(\)\s*;?\s*)$/;

export async function maskedResponse(c: MaskedContext): Promise<Response> {
  const { masking: m, kind } = c;
  const type = mediaType(c.contentType);
  if (kind === "opaque") {
    await c.cancel();
    return c.fail(
      new CustosError(
        "upstream.protocol",
        `a ${type} response cannot be masked and is refused for this identity`,
      ),
    );
  }
  const charset = charsetOf(c.contentType);
  if (charset !== null && !READABLE_CHARSETS.has(charset)) {
    await c.cancel();
    return c.fail(
      new CustosError(
        "upstream.protocol",
        `a response in ${charset} cannot be masked and is refused for this identity`,
      ),
    );
  }
  if (m.plans.unnamed !== null && kind !== "json" && kind !== "ndjson") {
    await c.cancel();
    return c.fail(
      new CustosError(
        "policy.unavailable",
        `mask path ${m.plans.unnamed} cannot apply to a ${type || "untyped"} body`,
      ),
    );
  }
  let source = c.source;
  // What the body is read whole as, when it is: strictly (refused unless it parses), or tentatively.
  let whole: "json" | "form" | "xml" | "json?" | "jsonp?" | null =
    kind === "json" || kind === "form" || kind === "xml" ? kind : null;
  if (kind === "text") {
    const peek = await peekStart(source);
    source = peek.stream;
    if (peek.bom16) {
      await source.cancel().catch(() => {});
      return c.fail(
        new CustosError(
          "upstream.protocol",
          "a UTF-16 response cannot be masked and is refused for this identity",
        ),
      );
    }
    if (peek.first === 123 || peek.first === 91) whole = "json?";
    else if (JAVASCRIPT.has(type) && peek.first !== null) whole = "jsonp?";
  }
  if (whole !== null) {
    let b: Awaited<ReturnType<typeof readBounded>>;
    try {
      // `readWhole` only when nothing was peeked from `source` (a JSON, form or XML type).
      b =
        c.readWhole && source === c.source
          ? { complete: true, bytes: await c.readWhole() }
          : await readBounded(source, c.maskBody);
    } catch (err) {
      return c.fail(
        new CustosError("upstream.protocol", "the upstream response body failed", { error: String(err) }),
      );
    }
    // Text that opens like JSON is refused past the bound too: as a text stream its nested members would
    // be masked by detectors only, not by name.
    if (!b.complete) {
      await b.stream.cancel().catch(() => {});
      return c.fail(
        new CustosError(
          "upstream.protocol",
          `the response exceeds ${c.maskBody} bytes, the bound for masking`,
        ),
      );
    }
    if (b.complete) {
      let out: Uint8Array;
      try {
        out = maskWhole(m, whole, b.bytes);
      } catch {
        // Fail closed: a body that does not parse as its declared type cannot be shown masked.
        return c.fail(
          new CustosError(
            "upstream.protocol",
            `the upstream response is not valid ${kind} and must be masked`,
          ),
        );
      }
      if (c.scrubber) out = scrubBytes(c.scrubber, out);
      c.record(head(out, c.recordBody), out.length, "complete");
      c.done(c.status, { bytes_out: out.length, masking: m.json.evidence });
      return new Response(out as Uint8Array<ArrayBuffer>, c.init);
    }
  }
  const transform =
    kind === "sse"
      ? maskSseStream(m.plans, m.json, c.maskBody)
      : kind === "ndjson"
        ? maskNdjsonStream(m.json, c.maskBody)
        : kind === "csv" || kind === "tsv"
          ? maskCsvStream(m.plans, kind === "csv" ? "," : "\t", c.maskBody)
          : maskTextStream(m.plans, c.maskBody);
  source = source.pipeThrough(transform);
  if (c.scrubber) source = source.pipeThrough(scrubStream(c.scrubber));
  const body = tap(source, c.recordBody, (r) => {
    c.record(r.head, r.bytes, r.end);
    c.done(r.end === "error" ? 502 : c.status, {
      bytes_out: r.bytes,
      end: r.end,
      masking: m.json.evidence,
      ...(r.error ? { error: "upstream_body" } : {}),
    });
  });
  return new Response(body, c.init);
}

function maskWhole(
  m: ResponseMasking,
  as: "json" | "form" | "xml" | "json?" | "jsonp?",
  bytes: Uint8Array,
): Uint8Array {
  const text = decoder.decode(bytes);
  if (as === "json") return encoder.encode(JSON.stringify(m.json.mask(JSON.parse(text))));
  if (as === "form") return encoder.encode(maskForm(m.plans, text));
  if (as === "xml") return encoder.encode(maskXml(m.plans, text));
  if (as === "json?") {
    try {
      return encoder.encode(JSON.stringify(m.json.mask(JSON.parse(text))));
    } catch {
      return maskText(m.plans, bytes);
    }
  }
  const call = JSONP.exec(text);
  if (call) {
    try {
      const inner = JSON.stringify(m.json.mask(JSON.parse(call[2]!)));
      return encoder.encode(`${call[1]}${inner}${call[3]}`);
    } catch {}
  }
  return maskText(m.plans, bytes);
}
