// The upstream's response on its way to the client. Two paths: bodies nothing needs to read stream through
// untouched (counted, their first bytes kept for the recording); JSON bodies the decision masks are read
// whole up to `limits.mask_body`, masked and re-serialized. Bounded buffering rather than a streaming
// JSON rewriter: path rules (`$.customers[*].ssn`) need the document's structure, and API responses
// that carry regulated records are small; a larger one is refused (502), never passed unmasked.

import { nowMicros } from "../../core/clock.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import { declaredLength, head, readBounded, tap, WHOLE_BODY_MAX } from "./body.ts";
import { forwardResponseHeaders, recordedHeaders } from "./headers.ts";
import { isJsonType, type JsonMasker } from "./mask.ts";
import type { PooledSession } from "./sessions.ts";
import type { HttpTarget } from "./target.ts";
import { problemResponse } from "./wire-error.ts";

export interface RelayResponseOptions {
  upstream: Response;
  pooled: PooledSession;
  name: string;
  target: HttpTarget;
  masker: JsonMasker | null;
  clientSignal: AbortSignal;
  logger: Logger;
  /** Once, when the body is delivered, abandoned by the client, or failed. */
  onDone(status: number, detail: Record<string, unknown>): void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function relayResponse(o: RelayResponseOptions): Promise<Response> {
  const { upstream, pooled, target } = o;
  const session = pooled.session;
  const status = upstream.status;
  const contentType = upstream.headers.get("content-type");
  const headers = forwardResponseHeaders(upstream.headers, o.masker !== null && isJsonType(contentType));
  rewriteLocation(headers, target.url, o.name);

  if (o.masker && upstream.body && isJsonType(contentType)) {
    return maskedJson(o, headers);
  }

  const record = (body: Uint8Array | undefined, bytes: number, end: string) =>
    session.record({
      t: nowMicros(),
      dir: "server",
      kind: "response",
      data: {
        status,
        headers: recordedHeaders(upstream.headers),
        body_bytes: bytes,
        end,
        ...(body?.length ? { body } : {}),
      },
    });
  if (!upstream.body) {
    record(undefined, 0, "complete");
    o.onDone(status, { bytes_out: 0 });
    return new Response(null, { status, statusText: upstream.statusText, headers });
  }
  // A small body of declared length is read whole (body.ts, WHOLE_BODY_MAX); the rest is streamed.
  const declared = declaredLength(upstream.headers);
  if (declared !== null && declared <= WHOLE_BODY_MAX) {
    let bytes: Uint8Array;
    try {
      bytes = await upstream.bytes();
    } catch (err) {
      const gone = o.clientSignal.aborted;
      record(undefined, 0, gone ? "cancelled" : "error");
      o.onDone(gone ? 499 : 502, { bytes_out: 0, end: gone ? "cancelled" : "error", error: "upstream_body" });
      return problemResponse(
        new CustosError("upstream.protocol", "the upstream response body failed", { error: String(err) }),
      );
    }
    record(head(bytes, target.limits.recordBody), bytes.length, "complete");
    o.onDone(status, { bytes_out: bytes.length, end: "complete" });
    return new Response(bytes as Uint8Array<ArrayBuffer>, {
      status,
      statusText: upstream.statusText,
      headers,
    });
  }
  const body = tap(upstream.body, target.limits.recordBody, (r) => {
    record(r.head, r.bytes, r.end);
    o.onDone(status, { bytes_out: r.bytes, end: r.end, ...(r.error ? { error: "upstream_body" } : {}) });
  });
  return new Response(body, { status, statusText: upstream.statusText, headers });
}

async function maskedJson(o: RelayResponseOptions, headers: Headers): Promise<Response> {
  const { upstream, target } = o;
  const session = o.pooled.session;
  const status = upstream.status;
  const fail = (e: CustosError) => {
    session.event("upstream.error", { connection: o.name, code: e.code, message: e.message });
    o.onDone(502, { error: e.code, masked: false });
    return problemResponse(e);
  };
  let stream = upstream.body!;
  const encoding = (upstream.headers.get("content-encoding") ?? "identity").toLowerCase();
  if (encoding === "gzip" || encoding === "deflate") {
    stream = stream.pipeThrough(new DecompressionStream(encoding));
  } else if (encoding !== "identity") {
    await upstream.body!.cancel().catch(() => {});
    return fail(
      new CustosError("upstream.protocol", `cannot mask a response with content-encoding ${encoding}`),
    );
  }
  let bytes: Uint8Array;
  try {
    const b = await readBounded(stream, target.limits.maskBody);
    if (!b.complete) {
      await b.stream.cancel().catch(() => {});
      return fail(
        new CustosError(
          "upstream.protocol",
          `the response exceeds ${target.limits.maskBody} bytes, the bound for masking`,
        ),
      );
    }
    bytes = b.bytes;
  } catch (err) {
    return fail(
      new CustosError("upstream.protocol", "the upstream response body failed", { error: String(err) }),
    );
  }
  let masked: Uint8Array;
  try {
    const value = o.masker!.mask(JSON.parse(decoder.decode(bytes)));
    masked = encoder.encode(JSON.stringify(value));
  } catch {
    // Fail closed: a body declared JSON that does not parse cannot be shown masked.
    return fail(
      new CustosError("upstream.protocol", "the upstream response is not valid JSON and must be masked"),
    );
  }
  session.record({
    t: nowMicros(),
    dir: "server",
    kind: "response",
    data: {
      status,
      headers: recordedHeaders(upstream.headers),
      body_bytes: masked.length,
      end: "complete",
      body: head(masked, target.limits.recordBody),
    },
  });
  o.onDone(status, { bytes_out: masked.length, masking: o.masker!.evidence });
  return new Response(masked as Uint8Array<ArrayBuffer>, {
    status,
    statusText: upstream.statusText,
    headers,
  });
}

/** Redirects to the upstream's own URLs are rewritten to go through the gateway again. */
function rewriteLocation(headers: Headers, base: string, name: string): void {
  const loc = headers.get("location");
  if (loc?.startsWith(base) && (loc.length === base.length || "/?#".includes(loc[base.length]!))) {
    headers.set("location", `/c/${name}${loc.slice(base.length)}`);
  }
}
