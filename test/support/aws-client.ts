// A small S3 client for the streaming tests, signing with the gateway's own SigV4 code: PutObject in each
// payload mode real clients send, and GetObject hashed as it streams. It imports nothing of the gateway but
// sigv4.ts, so it also runs as its own process (`bun test/support/aws-client.ts put|get …`), which lets a
// test measure the gateway's memory without the client's in the same process.
import { amzDate, sign } from "../../src/net/sigv4.ts";

export interface Creds {
  id: string;
  secret: string;
}

/** Deterministic bytes of `size`, `piece` bytes at a time (the same stream every time it is built). */
export function patternStream(
  size: number,
  piece: number,
  chunk?: (i: number, data: Uint8Array) => Uint8Array,
) {
  let sent = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) {
        controller.close();
        return;
      }
      const n = Math.min(piece, size - sent);
      const data = new Uint8Array(n);
      for (let k = 0; k < n; k += 4096) data[k] = (sent + k) % 251;
      sent += n;
      controller.enqueue(chunk ? chunk(i++, data) : data);
    },
  });
}

export async function sha256OfStream(s: ReadableStream<Uint8Array>): Promise<{ hex: string; bytes: number }> {
  const h = new Bun.CryptoHasher("sha256");
  let bytes = 0;
  for await (const c of s) {
    h.update(c);
    bytes += c.length;
  }
  return { hex: h.digest("hex"), bytes };
}

export type PayloadMode =
  | "hex"
  | "unsigned"
  | "chunked-signed"
  | "chunked-signed-trailer"
  | "chunked-unsigned-trailer";

/**
 * An S3 PutObject of `size` pattern bytes through `base`, signed in one of the payload modes real clients
 * send (awscli/boto3 over http: hex; SDKs over https: UNSIGNED-PAYLOAD; the Java SDK v2:
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD; newer SDKs: STREAMING-UNSIGNED-PAYLOAD-TRAILER), streamed.
 * `tamperChunk` flips a byte of that chunk after it was signed.
 */
export async function putObject(
  base: string,
  creds: Creds,
  bucket: string,
  key: string,
  size: number,
  mode: PayloadMode,
  opts: { chunk?: number; tamperChunk?: number; tamperTrailer?: boolean } = {},
): Promise<{ status: number; text: string }> {
  const { chunkStringToSign, hmacHex, signingKey, sha256Hex, uriEncode } = await import(
    "../../src/net/sigv4.ts"
  );
  const piece = opts.chunk ?? 64 * 1024;
  const date = amzDate(Date.now());
  const scope = { date: date.slice(0, 8), region: "us-east-1", service: "s3" };
  const path = `/${bucket}/${uriEncode(key, true)}`;
  const headers: Record<string, string> = {
    host: new URL(base).host,
    "x-amz-date": date,
    "content-type": "application/octet-stream",
  };
  let length = size;
  if (mode === "hex")
    headers["x-amz-content-sha256"] = (await sha256OfStream(patternStream(size, piece))).hex;
  else if (mode === "unsigned") headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
  else {
    if (mode === "chunked-signed-trailer") {
      const chunks = Math.ceil(size / piece);
      const last = size - (chunks - 1) * piece;
      const frame = (n: number) => n.toString(16).length + 17 + 64 + 2 + n + 2;
      // The final chunk has no data CRLF; the checksum trailer and its signature follow.
      length = (chunks - 1) * frame(piece) + frame(last) + frame(0) - 2;
      headers["x-amz-content-sha256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
      headers["x-amz-trailer"] = "x-amz-checksum-crc32";
    } else if (mode === "chunked-signed") {
      // <hex>;chunk-signature=<64 hex>\r\n<data>\r\n per chunk, the final one empty.
      const chunks = Math.ceil(size / piece);
      const last = size - (chunks - 1) * piece;
      const frame = (n: number) => n.toString(16).length + 17 + 64 + 2 + n + 2;
      length = (chunks - 1) * frame(piece) + frame(last) + frame(0);
      headers["x-amz-content-sha256"] = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    } else {
      headers["x-amz-content-sha256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
      headers["x-amz-trailer"] = "x-amz-checksum-crc32";
    }
    headers["content-encoding"] = "aws-chunked";
    headers["x-amz-decoded-content-length"] = String(size);
  }
  // The trailer carries the body's real CRC32 (MinIO checks it), big-endian, base64.
  let crc = 0;
  if (mode === "chunked-unsigned-trailer" || mode === "chunked-signed-trailer")
    for await (const c of patternStream(size, piece)) crc = Bun.hash.crc32(c, crc);
  const crcBytes = new Uint8Array(4);
  new DataView(crcBytes.buffer).setUint32(0, crc >>> 0);
  const trailerLine = `x-amz-checksum-crc32:${Buffer.from(crcBytes).toString("base64")}`;
  const trailerText = `${trailerLine}\r\n\r\n`;
  if (mode === "chunked-signed-trailer") length += trailerLine.length + 2 + 24 + 64 + 4;
  if (mode === "chunked-unsigned-trailer") {
    const chunks = Math.ceil(size / piece);
    const last = size - (chunks - 1) * piece;
    const frame = (n: number) => n.toString(16).length + 2 + n + 2;
    length = (chunks - 1) * frame(piece) + frame(last) + "0\r\n".length + trailerText.length;
  }
  headers["content-length"] = String(length);
  const signedHeaders = { ...headers };
  const s = sign({
    method: "PUT",
    canonicalUri: path,
    query: [],
    headers: signedHeaders,
    payloadHash: headers["x-amz-content-sha256"]!,
    scope,
    amzDate: date,
    accessKeyId: creds.id,
    secret: creds.secret,
  });
  const k = signingKey(creds.secret, scope);
  let prev = s.signature;
  const enc = new TextEncoder();
  const join = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const signChunk = (i: number, data: Uint8Array) => {
    const sig = hmacHex(k, chunkStringToSign(date, scope, prev, sha256Hex(data)));
    prev = sig;
    const sent = i === opts.tamperChunk ? data.slice() : data;
    if (i === opts.tamperChunk) sent[1] = (sent[1]! + 1) % 256;
    return join(
      enc.encode(`${data.length.toString(16)};chunk-signature=${sig}\r\n`),
      sent,
      enc.encode("\r\n"),
    );
  };
  let body: ReadableStream<Uint8Array> = patternStream(size, piece);
  const signedChunks = mode === "chunked-signed" || mode === "chunked-signed-trailer";
  const signedTrailer = () => {
    const final = signChunk(-1, new Uint8Array(0)).subarray(0, -2);
    // The trailer signature (S3 "Including Trailing Headers"): chained from the final chunk's.
    const hash = sha256Hex(`${trailerLine}\n`);
    const sts = `AWS4-HMAC-SHA256-TRAILER\n${date}\n${scope.date}/${scope.region}/${scope.service}/aws4_request\n${prev}\n${hash}`;
    const sig = hmacHex(k, sts);
    const line = opts.tamperTrailer
      ? trailerLine.replace(/.=*$/, (m) => (m[0] === "A" ? "B" : "A") + m.slice(1))
      : trailerLine;
    return join(final, enc.encode(`${line}\r\nx-amz-trailer-signature:${sig}\r\n\r\n`));
  };
  if (signedChunks || mode === "chunked-unsigned-trailer") {
    const inner = patternStream(
      size,
      piece,
      signedChunks
        ? signChunk
        : (_i, d) => join(enc.encode(`${d.length.toString(16)}\r\n`), d, enc.encode("\r\n")),
    );
    const final =
      mode === "chunked-signed-trailer"
        ? signedTrailer
        : mode === "chunked-signed"
          ? () => signChunk(-1, new Uint8Array(0))
          : () => enc.encode(`0\r\n${trailerText}`);
    const reader = inner.getReader();
    let ended = false;
    body = new ReadableStream<Uint8Array>({
      async pull(c) {
        if (ended) return c.close();
        const { done, value } = await reader.read();
        if (done) {
          ended = true;
          c.enqueue(final());
          return;
        }
        c.enqueue(value);
      },
    });
  }
  const res = await fetch(`${base}${path}`, {
    method: "PUT",
    headers: { ...headers, authorization: s.authorization },
    body,
    // biome-ignore lint/suspicious/noExplicitAny: Bun's fetch takes `duplex` for streamed bodies.
    ...({ duplex: "half" } as any),
  } as RequestInit).catch((e: Error) => ({ status: 0, text: async () => e.message }) as unknown as Response);
  return { status: res.status, text: await res.text() };
}

/** A signed S3 GET of an object through `base`, its body hashed as it streams. */
export async function getObject(base: string, creds: Creds, bucket: string, key: string) {
  const { EMPTY_SHA256, uriEncode } = await import("../../src/net/sigv4.ts");
  const date = amzDate(Date.now());
  const path = `/${bucket}/${uriEncode(key, true)}`;
  const headers = { host: new URL(base).host, "x-amz-date": date, "x-amz-content-sha256": EMPTY_SHA256 };
  const s = sign({
    method: "GET",
    canonicalUri: path,
    query: [],
    headers,
    payloadHash: EMPTY_SHA256,
    scope: { date: date.slice(0, 8), region: "us-east-1", service: "s3" },
    amzDate: date,
    accessKeyId: creds.id,
    secret: creds.secret,
  });
  const res = await fetch(`${base}${path}`, { headers: { ...headers, authorization: s.authorization } });
  if (!res.ok) return { status: res.status, hex: "", bytes: 0, text: await res.text() };
  return { status: res.status, ...(await sha256OfStream(res.body!)), text: "" };
}

if (import.meta.main) {
  const [verb, base, id, secret, bucket, key, size, mode, chunk] = process.argv.slice(2);
  const creds = { id: id!, secret: secret! };
  const started = performance.now();
  const out =
    verb === "put"
      ? await putObject(base!, creds, bucket!, key!, Number(size), mode as PayloadMode, {
          chunk: Number(chunk) || undefined,
        })
      : await getObject(base!, creds, bucket!, key!);
  console.log(JSON.stringify({ ...out, ms: Math.round(performance.now() - started) }));
}
