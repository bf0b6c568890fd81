// Verifies a caller's SigV4 signature over the request exactly as it arrived, before the gateway reads
// anything else of it: the key must be one this gateway minted and still live, the date within the
// connection's clock skew, the scope's date that of X-Amz-Date, every header that changes the operation
// (host, x-amz-*, content-type) signed, and the signature over the canonical request right. A signature
// seen before within the window is a replay and refused (ReplayGuard).

import {
  canonicalQuery,
  canonicalRequest,
  hmacHex,
  type ParsedAuthorization,
  parseAmzDate,
  parseAuthorization,
  type Scope,
  STREAMING_SIGNED,
  STREAMING_SIGNED_TRAILER,
  STREAMING_UNSIGNED_TRAILER,
  sameSignature,
  sha256Hex,
  signingKey,
  stringToSign,
  UNSIGNED_PAYLOAD,
  uriEncode,
} from "../../net/sigv4.ts";
import { looksPresigned, parsePresigned } from "./presigned.ts";

export type PayloadMode =
  | "hex"
  | "unsigned"
  | "streaming-signed"
  | "streaming-signed-trailer"
  | "streaming-unsigned-trailer";

export type AuthFailureCode =
  | "missing"
  | "malformed"
  | "unknown_key"
  | "expired"
  | "skew"
  | "scope"
  | "unsigned_header"
  | "signature"
  | "replay";

export interface AuthFailure {
  failure: AuthFailureCode;
  message: string;
}

export interface Verified {
  auth: ParsedAuthorization;
  amzDate: string;
  payloadMode: PayloadMode;
  /** The hex SHA-256 the caller signed for the body (hex mode), else the mode's literal. */
  payloadHash: string;
  /** The caller's signing key: aws-chunked chunk signatures chain from `auth.signature` with it. */
  key: Buffer;
}

export interface RawRequest {
  method: string;
  /** The path as sent, still percent-encoded. */
  rawPath: string;
  /** The query as sent, without "?". */
  rawQuery: string;
  headers: Headers;
}

/** Decoded query pairs of a raw query string; null when an escape is malformed. */
export function queryPairs(raw: string): [string, string][] | null {
  const out: [string, string][] = [];
  if (raw === "") return out;
  for (const part of raw.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const k = eq === -1 ? part : part.slice(0, eq);
    const v = eq === -1 ? "" : part.slice(eq + 1);
    try {
      out.push([decodeURIComponent(k), decodeURIComponent(v)]);
    } catch {
      return null;
    }
  }
  return out;
}

export function parseAuth(r: RawRequest): ParsedAuthorization | AuthFailure {
  const header = r.headers.get("authorization");
  const pairs = queryPairs(r.rawQuery);
  const presignedQuery = pairs === null ? /x-amz-/i.test(r.rawQuery) : looksPresigned(pairs);
  if (header !== null && presignedQuery)
    return { failure: "malformed", message: "a request is signed in its header or its query, not both" };
  if (header === null && presignedQuery) {
    if (pairs === null) return { failure: "malformed", message: "the query string has a malformed escape" };
    const p = parsePresigned(pairs);
    if (typeof p === "string") return { failure: "malformed", message: p };
    return { ...p.auth, presigned: p.presigned };
  }
  if (header === null) {
    return {
      failure: "missing",
      message: "the request is not signed: use credentials from `custos aws credentials`",
    };
  }
  const auth = parseAuthorization(header);
  if (typeof auth === "string") return { failure: "malformed", message: auth };
  return auth;
}

export interface VerifyOptions {
  now: number;
  clockSkewMs: number;
  secret: string;
  /** The body when buffered (its hash is computed here); null when it streams (S3 uploads). */
  body: Uint8Array | null;
}

export function verifySignature(
  r: RawRequest,
  auth: ParsedAuthorization,
  o: VerifyOptions,
): Verified | AuthFailure {
  const presigned = auth.presigned;
  const amzDate = presigned ? presigned.amzDate : r.headers.get("x-amz-date");
  const at = amzDate === null ? null : parseAmzDate(amzDate);
  if (amzDate === null || at === null)
    return { failure: "malformed", message: "X-Amz-Date is missing or malformed" };
  if (presigned) {
    // Valid from its date (within the skew) until its date plus X-Amz-Expires; the credential's own
    // expiry is checked before this (an expired key id is refused whatever the URL says).
    if (at - o.now > o.clockSkewMs)
      return { failure: "skew", message: "the presigned URL is dated in the future" };
    if (o.now > at + presigned.expiresSeconds * 1000)
      return { failure: "expired", message: "the presigned URL has expired (X-Amz-Date + X-Amz-Expires)" };
    if (auth.scope.service !== "s3")
      return { failure: "malformed", message: "presigned URLs are accepted for S3 only" };
  } else if (Math.abs(o.now - at) > o.clockSkewMs)
    return { failure: "skew", message: "the request's X-Amz-Date is outside the gateway's time window" };
  if (auth.scope.date !== amzDate.slice(0, 8))
    return { failure: "scope", message: "the credential scope's date is not the day of X-Amz-Date" };
  const signed = new Set(auth.signedHeaders);
  if (!signed.has("host") || (!presigned && !signed.has("x-amz-date")))
    return { failure: "unsigned_header", message: "host and x-amz-date must be signed" };
  for (const [name] of r.headers) {
    const n = name.toLowerCase();
    if ((n.startsWith("x-amz-") || n === "content-type" || n === "content-md5") && !signed.has(n))
      return { failure: "unsigned_header", message: `the header ${n} must be signed` };
  }
  const headers: [string, string][] = [];
  for (const n of auth.signedHeaders) {
    const v = r.headers.get(n);
    if (v === null) return { failure: "signature", message: `the signed header ${n} is missing` };
    headers.push([n, v]);
  }
  // A presigned URL's payload is UNSIGNED-PAYLOAD unless the signer signed x-amz-content-sha256.
  const claimed = r.headers.get("x-amz-content-sha256") ?? (presigned ? UNSIGNED_PAYLOAD : null);
  let payloadMode: PayloadMode;
  let payloadHash: string;
  if (o.body !== null) {
    payloadHash = sha256Hex(o.body);
    payloadMode = "hex";
    if (claimed === UNSIGNED_PAYLOAD) {
      payloadMode = "unsigned";
      payloadHash = UNSIGNED_PAYLOAD;
    } else if (claimed !== null && claimed !== payloadHash)
      return { failure: "signature", message: "the body does not match x-amz-content-sha256" };
  } else {
    if (claimed === null)
      return { failure: "malformed", message: "x-amz-content-sha256 is required for this request" };
    payloadHash = claimed;
    if (/^[0-9a-f]{64}$/.test(claimed)) payloadMode = "hex";
    else if (claimed === UNSIGNED_PAYLOAD) payloadMode = "unsigned";
    else if (claimed === STREAMING_SIGNED) payloadMode = "streaming-signed";
    else if (claimed === STREAMING_UNSIGNED_TRAILER) payloadMode = "streaming-unsigned-trailer";
    else if (claimed === STREAMING_SIGNED_TRAILER) payloadMode = "streaming-signed-trailer";
    else return { failure: "malformed", message: "x-amz-content-sha256 is not a payload hash or mode" };
  }
  const all = queryPairs(r.rawQuery);
  if (all === null) return { failure: "malformed", message: "the query string has a malformed escape" };
  const pairs = presigned ? all.filter(([k]) => k !== "X-Amz-Signature") : all;
  const canonicalUri = auth.scope.service === "s3" ? r.rawPath : uriEncode(r.rawPath, true);
  const canonical = canonicalRequest({
    method: r.method,
    canonicalUri,
    canonicalQuery: canonicalQuery(pairs),
    headers,
    payloadHash,
  });
  const key = signingKey(o.secret, auth.scope as Scope);
  const expected = hmacHex(key, stringToSign(amzDate, auth.scope, canonical));
  if (!sameSignature(expected, auth.signature))
    return {
      failure: "signature",
      message: "the request signature does not match (altered in transit, or the wrong secret)",
    };
  return { auth, amzDate, payloadMode, payloadHash, key };
}

/** Signatures seen within the time window: a second use is a replay. Bounded; full means refuse. */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly max = 500_000,
  ) {}

  /** True when `signature` is new (and is now remembered); false for a replay or when the guard is full. */
  admit(signature: string, now: number): boolean {
    if (this.seen.has(signature)) return false;
    if (this.seen.size >= this.max) this.prune(now);
    if (this.seen.size >= this.max) return false;
    this.seen.set(signature, now + 2 * this.windowMs);
    return true;
  }

  prune(now: number): void {
    // Insertion order is expiry order (a constant window), so the stale ones are at the front.
    for (const [sig, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(sig);
    }
  }
}
