// The upstream's response on its way to the client. Bodies nothing needs to read stream through untouched
// (counted, their first bytes kept for the recording). For a masked identity every body is masked or
// refused (ENFORCEMENT §5): JSON, forms and XML are read whole up to `limits.mask_body` (path rules need
// the document) and rewritten; text, CSV, event streams and NDJSON are masked as streams; compressed
// bodies are decoded first; types no masker reads are refused unless the connection lists them. The
// injected credential is scrubbed from headers and bodies (scrub.ts) for everyone, before the recording.

import { nowMicros } from "../../core/clock.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { FieldPlans } from "../../masking/field-plans.ts";
import type { JsonMasker } from "../../masking/json-mask.ts";
import { declaredLength, head, tap, WHOLE_BODY_MAX } from "./body.ts";
import { contentKind, listedType, mediaType } from "./content-kind.ts";
import { forwardResponseHeaders, recordedHeaders } from "./headers.ts";
import { maskedResponse, maskHeaders } from "./masked-body.ts";
import { type Scrubber, scrubBytes, scrubHeaders, scrubStream } from "./scrub.ts";
import type { PooledSession } from "./sessions.ts";
import type { HttpTarget } from "./target.ts";
import { problemResponse } from "./wire-error.ts";

/** How a masked identity's response bodies are masked: the JSON masker and the per-field plans. */
export interface ResponseMasking {
  json: JsonMasker;
  plans: FieldPlans;
}

export interface RelayResponseOptions {
  upstream: Response;
  pooled: PooledSession;
  name: string;
  target: HttpTarget;
  masking: ResponseMasking | null;
  scrubber: Scrubber | null;
  /** Whether the client has gone (read only when a body fails: reading req.signal costs). */
  clientGone(): boolean;
  logger: Logger;
  /** Once, when the body is delivered, abandoned by the client, or failed. */
  onDone(status: number, detail: Record<string, unknown>): void;
}

/** Content codings the gateway decodes to read a body (RFC 9110 §8.4.1); others cannot be masked. */
const DECODERS: Record<string, string> = { gzip: "gzip", "x-gzip": "gzip", deflate: "deflate", br: "brotli" };

export async function relayResponse(o: RelayResponseOptions): Promise<Response> {
  const { upstream, target } = o;
  const session = o.pooled.session;
  const status = upstream.status;
  const contentType = upstream.headers.get("content-type");
  const encoding = (upstream.headers.get("content-encoding") ?? "").trim().toLowerCase() || "identity";
  const kind = contentKind(contentType);
  const unmaskedType =
    o.masking !== null && kind === "opaque" && listedType(contentType, target.relay.unmaskedTypes);
  const masked = o.masking !== null && upstream.body !== null && !unmaskedType;
  // The body changes when it is masked, or decoded to be scrubbed.
  const scrubDecode = o.scrubber !== null && encoding !== "identity";
  const rewritten = masked || (scrubDecode && upstream.body !== null);
  const headers = forwardResponseHeaders(upstream.headers, rewritten);
  if (o.scrubber) scrubHeaders(o.scrubber, headers);
  rewriteLocation(headers, target.url, o.name);
  // Header values are bytes the client receives too (a debug header, a Location with a query).
  if (o.masking) maskHeaders(o.masking.plans, headers);
  const recorded = recordedHeaders(headers);
  const extra = unmaskedType ? { unmasked_type: mediaType(contentType) } : {};

  const record = (body: Uint8Array | undefined, bytes: number, end: string) =>
    session.record({
      t: nowMicros(),
      dir: "server",
      kind: "response",
      // Keys in canonical (sorted) order, as the audit encoder writes them.
      data: { ...(body?.length ? { body } : {}), body_bytes: bytes, end, headers: recorded, status },
    });
  const fail = (e: CustosError) => {
    session.event("upstream.error", { connection: o.name, code: e.code, message: e.message });
    record(undefined, 0, "refused");
    o.onDone(502, { error: e.code, masked: false });
    return problemResponse(e);
  };
  const init = { status, statusText: upstream.statusText, headers };

  if (!upstream.body) {
    record(undefined, 0, "complete");
    o.onDone(status, { bytes_out: 0, ...extra });
    return new Response(null, init);
  }

  let source: ReadableStream<Uint8Array> = upstream.body;
  if (masked || scrubDecode) {
    if (encoding !== "identity") {
      const format = DECODERS[encoding];
      if (!format) {
        await upstream.body.cancel().catch(() => {});
        return fail(
          new CustosError("upstream.protocol", `cannot read a response with content-encoding ${encoding}`),
        );
      }
      source = source.pipeThrough(
        new DecompressionStream(format as CompressionFormat) as unknown as TransformStream<
          Uint8Array,
          Uint8Array
        >,
      );
    }
  }

  if (masked) {
    const declared = declaredLength(upstream.headers);
    return maskedResponse({
      masking: o.masking!,
      kind,
      contentType,
      source,
      readWhole:
        encoding === "identity" && declared !== null && declared <= target.limits.maskBody
          ? () => upstream.bytes()
          : null,
      cancel: () => upstream.body!.cancel().catch(() => {}),
      maskBody: target.limits.maskBody,
      recordBody: target.limits.recordBody,
      scrubber: o.scrubber,
      init,
      record,
      fail,
      done: (st, detail) => o.onDone(st, detail),
      status,
    });
  }

  // Unmasked: a small body of declared length is read whole (body.ts, WHOLE_BODY_MAX); the rest streams.
  const declared = declaredLength(upstream.headers);
  if (declared !== null && declared <= WHOLE_BODY_MAX && !scrubDecode) {
    let bytes: Uint8Array;
    try {
      bytes = await upstream.bytes();
    } catch (err) {
      const gone = o.clientGone();
      record(undefined, 0, gone ? "cancelled" : "error");
      o.onDone(gone ? 499 : 502, { bytes_out: 0, end: gone ? "cancelled" : "error", error: "upstream_body" });
      return problemResponse(
        new CustosError("upstream.protocol", "the upstream response body failed", { error: String(err) }),
      );
    }
    if (o.scrubber) {
      const clean = scrubBytes(o.scrubber, bytes);
      if (clean !== bytes) {
        bytes = clean;
        headers.delete("content-length");
        headers.delete("etag");
      }
    }
    record(head(bytes, target.limits.recordBody), bytes.length, "complete");
    o.onDone(status, { bytes_out: bytes.length, end: "complete", ...extra });
    return new Response(bytes as Uint8Array<ArrayBuffer>, init);
  }
  if (o.scrubber) {
    source = source.pipeThrough(scrubStream(o.scrubber));
    headers.delete("content-length");
    headers.delete("etag");
  }
  const body = tap(source, target.limits.recordBody, (r) => {
    record(r.head, r.bytes, r.end);
    o.onDone(status, {
      bytes_out: r.bytes,
      end: r.end,
      ...extra,
      ...(r.error ? { error: "upstream_body" } : {}),
    });
  });
  return new Response(body, init);
}

/** Redirects to the upstream's own URLs are rewritten to go through the gateway again. */
function rewriteLocation(headers: Headers, base: string, name: string): void {
  const loc = headers.get("location");
  if (loc?.startsWith(base) && (loc.length === base.length || "/?#".includes(loc[base.length]!))) {
    headers.set("location", `/c/${name}${loc.slice(base.length)}`);
  }
}
