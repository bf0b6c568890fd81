// aws-chunked request bodies (Amazon S3 API Reference, "Signature Calculations for the Authorization
// Header: Transferring Payload in Multiple Chunks (Chunked Upload)" and "… Including Trailing Headers"):
//   signed:   <hex size>;chunk-signature=<64 hex>\r\n <data> \r\n  …  0;chunk-signature=<sig>\r\n\r\n
//   unsigned: <hex size>\r\n <data> \r\n  …  0\r\n <trailer lines>\r\n
//   signed with trailers (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER): the signed chunks, the final one
//             `0;chunk-signature=<sig>\r\n` with no data CRLF, then `x-amz-checksum-*:<value>\r\n` lines,
//             `x-amz-trailer-signature:<sig>\r\n\r\n`; the trailer signature chains from the final chunk's
//             over the SHA-256 of the trailer lines each ended by \n (algorithm AWS4-HMAC-SHA256-TRAILER).
// The signed form is verified chunk by chunk (each signature chains from the previous, starting at the
// request's seed signature) and re-signed in the upstream's chain with the same chunk sizes, so the body's
// length is unchanged. One chunk is held at a time (bounded); a bad chunk errors the stream, which aborts
// the upstream request before it completes.
import { createHash } from "node:crypto";
import { CustosError } from "../../core/errors.ts";
import {
  ALGORITHM,
  chunkStringToSign,
  hmacHex,
  type Scope,
  sameSignature,
  scopeText,
} from "../../net/sigv4.ts";

export interface ChainKey {
  key: Uint8Array;
  scope: Scope;
  amzDate: string;
  /** The request's own signature: the first chunk's "previous signature". */
  seed: string;
}

const CRLF = new Uint8Array([13, 10]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAX_HEADER = 4096;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function bad(message: string): CustosError {
  return new CustosError("protocol.malformed", `aws-chunked body: ${message}`);
}

/**
 * Verifies a signed aws-chunked body against the caller's chain and re-signs it in `upstream`'s chain
 * (`upstream` null: the chunks are only verified and decoded, for a caller that needs the bytes).
 * `maxChunk` bounds the chunk held; `onData` sees each verified chunk's data (recording, counting).
 */
function trailerStringToSign(c: ChainKey, previous: string, trailerHash: string): string {
  return `${ALGORITHM}-TRAILER\n${c.amzDate}\n${scopeText(c.scope)}\n${previous}\n${trailerHash}`;
}

export function resignChunks(
  caller: ChainKey,
  upstream: ChainKey,
  maxChunk: number,
  onData: (data: Uint8Array) => void,
  withTrailer = false,
): TransformStream<Uint8Array, Uint8Array> {
  let callerPrev = caller.seed;
  let upstreamPrev = upstream.seed;
  // Each byte is looked at once: header bytes gathered (bounded), data pieces hashed as they arrive and
  // kept as views of the arriving buffers until the chunk's signature is checked.
  let state: "header" | "data" | "crlf" | "trailer" | "done" = "header";
  const trailerLines: string[] = [];
  let trailerBytes = 0;
  let signedTrailer: string | null = null;
  let header: Uint8Array = new Uint8Array(0);
  let size = 0;
  let remaining = 0;
  let signature = "";
  let sizeText = "";
  let hash = createHash("sha256");
  let pieces: Uint8Array[] = [];
  let crlf = 0;
  const endTrailer = (controller: TransformStreamDefaultController<Uint8Array>, signed: string) => {
    const text = trailerLines.map((l) => `${l}\n`).join("");
    const digest = createHash("sha256").update(text).digest("hex");
    const expected = hmacHex(caller.key, trailerStringToSign(caller, callerPrev, digest));
    if (!sameSignature(expected, signed)) throw bad("the trailer signature does not match");
    const resigned = hmacHex(upstream.key, trailerStringToSign(upstream, upstreamPrev, digest));
    controller.enqueue(
      encoder.encode(
        `${trailerLines.map((l) => `${l}\r\n`).join("")}x-amz-trailer-signature:${resigned}\r\n\r\n`,
      ),
    );
    state = "done";
  };
  const endChunk = (controller: TransformStreamDefaultController<Uint8Array>) => {
    const digest = hash.digest("hex");
    const expected = hmacHex(caller.key, chunkStringToSign(caller.amzDate, caller.scope, callerPrev, digest));
    if (!sameSignature(expected, signature)) throw bad("a chunk signature does not match");
    callerPrev = expected;
    upstreamPrev = hmacHex(
      upstream.key,
      chunkStringToSign(upstream.amzDate, upstream.scope, upstreamPrev, digest),
    );
    controller.enqueue(encoder.encode(`${sizeText};chunk-signature=${upstreamPrev}\r\n`));
    for (const p of pieces) {
      onData(p);
      controller.enqueue(p);
    }
    // With trailers, the final chunk has no data CRLF: its trailers follow at once.
    if (!(withTrailer && size === 0)) controller.enqueue(CRLF);
    pieces = [];
    hash = createHash("sha256");
    state = size === 0 ? (withTrailer ? "trailer" : "done") : "header";
  };
  return new TransformStream({
    transform(chunk, controller) {
      let at = 0;
      while (at < chunk.length) {
        if (state === "done") throw bad("bytes after the final chunk");
        if (state === "trailer") {
          const nl = chunk.indexOf(10, at);
          const part = chunk.subarray(at, nl === -1 ? chunk.length : nl + 1);
          header = concat(header, part);
          at += part.length;
          trailerBytes += part.length;
          if (trailerBytes > MAX_HEADER) throw bad("the trailers are too long");
          if (nl === -1) continue;
          if (header.length < 2 || header[header.length - 2] !== 13)
            throw bad("a trailer does not end in CRLF");
          const line = decoder.decode(header.subarray(0, -2));
          header = new Uint8Array(0);
          const sig = /^x-amz-trailer-signature:([0-9a-f]{64})$/.exec(line);
          if (sig) {
            if (trailerLines.length === 0) throw bad("a trailer signature with no trailers");
            signedTrailer = sig[1]!;
          } else if (line === "") {
            if (signedTrailer === null) throw bad("the trailers end without x-amz-trailer-signature");
            endTrailer(controller, signedTrailer);
          } else if (signedTrailer !== null) throw bad("a trailer after x-amz-trailer-signature");
          else if (!/^x-amz-checksum-[a-z0-9]+:[A-Za-z0-9+/=]+$/.test(line))
            throw bad("a trailer is not an x-amz-checksum-* header");
          else trailerLines.push(line);
          continue;
        }
        if (state === "header") {
          const nl = chunk.indexOf(10, at);
          const part = chunk.subarray(at, nl === -1 ? chunk.length : nl + 1);
          header = concat(header, part);
          at += part.length;
          if (header.length > MAX_HEADER) throw bad("a chunk header is too long");
          if (nl === -1) continue;
          if (header.length < 2 || header[header.length - 2] !== 13)
            throw bad("a chunk header does not end in CRLF");
          const m = /^([0-9a-fA-F]{1,16});chunk-signature=([0-9a-f]{64})$/.exec(
            decoder.decode(header.subarray(0, -2)),
          );
          header = new Uint8Array(0);
          if (!m) throw bad("a chunk header is not <hex size>;chunk-signature=<signature>");
          size = Number.parseInt(m[1]!, 16);
          if (size > maxChunk) throw bad(`a chunk of ${size} bytes exceeds the ${maxChunk}-byte bound`);
          sizeText = m[1]!.toLowerCase();
          signature = m[2]!;
          remaining = size;
          crlf = 0;
          if (remaining === 0 && withTrailer) endChunk(controller);
          else state = remaining === 0 ? "crlf" : "data";
          continue;
        }
        if (state === "data") {
          const take = Math.min(remaining, chunk.length - at);
          const piece = chunk.subarray(at, at + take);
          hash.update(piece);
          pieces.push(piece);
          remaining -= take;
          at += take;
          if (remaining === 0) {
            state = "crlf";
            crlf = 0;
          }
          continue;
        }
        // CRLF after the data (the final, empty chunk's included).
        if (chunk[at] !== (crlf === 0 ? 13 : 10)) throw bad("chunk data is not followed by CRLF");
        at++;
        if (++crlf === 2) endChunk(controller);
      }
    },
    flush() {
      if (state !== "done") throw bad("the body ended before its final chunk");
    },
  });
}

/**
 * Reads an unsigned aws-chunked body with trailers (STREAMING-UNSIGNED-PAYLOAD-TRAILER) and relays its
 * bytes unchanged: nothing in it is signed, so nothing needs re-signing. The framing is still checked,
 * so what the upstream stores is what was recorded; trailer lines must be `x-amz-checksum-*`.
 */
export function checkUnsignedChunks(
  maxChunk: number,
  onData: (data: Uint8Array) => void,
): TransformStream<Uint8Array, Uint8Array> {
  let buf: Uint8Array = new Uint8Array(0);
  let state: "header" | "trailer" | "done" = "header";
  const step = () => {
    for (;;) {
      if (state === "done") {
        if (buf.length > 0) throw bad("bytes after the trailers");
        return;
      }
      const nl = buf.indexOf(10);
      if (nl === -1) {
        if (buf.length > MAX_HEADER) throw bad("a chunk header is too long");
        return;
      }
      if (nl === 0 || buf[nl - 1] !== 13) throw bad("a line does not end in CRLF");
      const line = decoder.decode(buf.subarray(0, nl - 1));
      if (state === "trailer") {
        buf = buf.slice(nl + 1);
        if (line === "") state = "done";
        else if (!/^x-amz-checksum-[a-z0-9]+:[A-Za-z0-9+/=]+$/.test(line))
          throw bad("a trailer is not an x-amz-checksum-* header");
        continue;
      }
      const m = /^([0-9a-fA-F]{1,16})$/.exec(line);
      if (!m) throw bad("a chunk header is not a hex size");
      const size = Number.parseInt(m[1]!, 16);
      if (size > maxChunk) throw bad(`a chunk of ${size} bytes exceeds the ${maxChunk}-byte bound`);
      if (size === 0) {
        buf = buf.slice(nl + 1);
        state = "trailer";
        continue;
      }
      const end = nl + 1 + size;
      if (buf.length < end + 2) return;
      if (buf[end] !== 13 || buf[end + 1] !== 10) throw bad("chunk data is not followed by CRLF");
      onData(buf.subarray(nl + 1, end));
      buf = buf.slice(end + 2);
    }
  };
  return new TransformStream({
    transform(chunk, controller) {
      controller.enqueue(chunk);
      buf = concat(buf, chunk);
      step();
    },
    flush() {
      if (state !== "done") throw bad("the body ended before its trailers");
    },
  });
}
