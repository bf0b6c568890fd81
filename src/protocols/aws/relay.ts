// The target's response on its way back: headers through an allow-list (Location rewritten, checksums of
// a rewritten body recomputed or dropped), buffered documents rewritten and masked (mask.ts), object
// bodies streamed with bounded memory (masked as text for masked identities, refused when no masker reads
// them). Every body passes `tap` so the recording holds its first bytes and the audit event its size.
import { CustosError } from "../../core/errors.ts";
import { readBounded } from "../http/body.ts";
import { applyRewrites, type Masking, maskDocument, objectMasking, type Rewrites } from "./mask.ts";

const RELAYED = new Set([
  "content-type",
  "content-length",
  "content-range",
  "content-encoding",
  "content-language",
  "content-disposition",
  "cache-control",
  "expires",
  "etag",
  "last-modified",
  "accept-ranges",
  "location",
  "x-amzn-requestid",
  "x-amzn-errortype",
  "x-amz-crc32",
]);

export interface RelayContext {
  service: string;
  /** S3 GetObject: the body is an object, streamed. */
  objectBody: boolean;
  head: boolean;
  rewrites: Rewrites;
  masking: Masking | null;
  unmaskedTypes: readonly string[];
  maskBody: number;
  recordBody: number;
  /** Called once with the body's first bytes (masked) and total size when it has been delivered. */
  done(status: number, bodyHead: Uint8Array, bytes: number, error: CustosError | null): void;
}

/**
 * The headers relayed. Object metadata (`x-amz-meta-*`) is data: masked for masked identities by its
 * name (`x-amz-meta-ssn` by `ssn`) and the detectors, like a body field.
 */
export function responseHeaders(
  up: Headers,
  r: Rewrites,
  bodyChanged: boolean,
  masking: Masking | null = null,
): Headers {
  const out = new Headers();
  for (const [name, value] of up) {
    const n = name.toLowerCase();
    if (!RELAYED.has(n) && !n.startsWith("x-amz-")) continue;
    if (n === "x-amz-id-2") continue;
    if (bodyChanged && (n === "content-length" || n === "x-amz-crc32" || n.startsWith("x-amz-checksum-")))
      continue;
    const text = applyRewrites(value, r);
    out.append(
      n,
      masking !== null && n.startsWith("x-amz-meta-") ? masking.plans.field(n.slice(11), text) : text,
    );
  }
  return out;
}

function documentKind(contentType: string | null, service: string): "json" | "xml" {
  const t = (contentType ?? "").toLowerCase();
  if (t.includes("json")) return "json";
  if (t.includes("xml")) return "xml";
  return service === "dynamodb" ? "json" : "xml";
}

/**
 * The stream relayed with its first `cap` bytes kept and the rest counted; `end` is called once, when it
 * ends, fails (a masker refusing, the upstream dropping) or the client goes away.
 */
export function tapped(
  source: ReadableStream<Uint8Array>,
  cap: number,
  end: (head: Uint8Array, bytes: number, error: CustosError | null) => void,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const parts: Uint8Array[] = [];
  let kept = 0;
  let bytes = 0;
  let ended = false;
  const finish = (error: CustosError | null) => {
    if (ended) return;
    ended = true;
    const head = new Uint8Array(kept);
    let at = 0;
    for (const p of parts) {
      head.set(p, at);
      at += p.length;
    }
    end(head, bytes, error);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            finish(null);
            controller.close();
            return;
          }
          bytes += value.length;
          if (kept < cap) {
            const take = value.subarray(0, cap - kept);
            parts.push(take.slice());
            kept += take.length;
          }
          controller.enqueue(value);
        } catch (err) {
          finish(
            err instanceof CustosError
              ? err
              : new CustosError("upstream.unreachable", `the body failed: ${(err as Error).message}`),
          );
          controller.error(err);
        }
      },
      cancel(reason) {
        finish(new CustosError("protocol.malformed", "the client stopped reading"));
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

export async function relayResponse(up: Response, c: RelayContext): Promise<Response> {
  const status = up.status;
  if (c.head || up.body === null || status === 204 || status === 304) {
    c.done(status, new Uint8Array(0), 0, null);
    return new Response(null, { status, headers: responseHeaders(up.headers, c.rewrites, false, c.masking) });
  }
  const contentType = up.headers.get("content-type");
  if (c.objectBody && status >= 200 && status < 300) {
    let body: ReadableStream<Uint8Array> = up.body;
    let changed = false;
    if (c.masking !== null) {
      const how = objectMasking(contentType, c.masking, c.unmaskedTypes, c.maskBody);
      if (how instanceof CustosError) {
        await up.body.cancel().catch(() => {});
        throw how;
      }
      if (how !== "relay") {
        body = body.pipeThrough(how);
        changed = true;
      }
    }
    const out = tapped(body, c.recordBody, (head, bytes, error) => c.done(status, head, bytes, error));
    return new Response(out, {
      status,
      headers: responseHeaders(up.headers, c.rewrites, changed, c.masking),
    });
  }
  const read = await readBounded(up.body, c.maskBody);
  if (!read.complete) {
    await read.stream.cancel().catch(() => {});
    throw new CustosError(
      "upstream.protocol",
      `the response exceeds ${c.maskBody} bytes, the bound for checking it (limits.mask_body)`,
    );
  }
  const kind = documentKind(contentType, c.service);
  const masked = maskDocument(c.service, kind, read.bytes, c.rewrites, c.masking);
  const changed = masked.length !== read.bytes.length || !masked.every((b, i) => b === read.bytes[i]);
  const headers = responseHeaders(up.headers, c.rewrites, changed, c.masking);
  // DynamoDB clients check the body against x-amz-crc32 (and retry on a mismatch): recomputed.
  if (changed && up.headers.has("x-amz-crc32")) headers.set("x-amz-crc32", String(Bun.hash.crc32(masked)));
  c.done(status, masked.subarray(0, c.recordBody), masked.length, null);
  return new Response(masked as Uint8Array<ArrayBuffer>, { status, headers });
}
