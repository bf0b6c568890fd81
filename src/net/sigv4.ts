// AWS Signature Version 4, the pieces both directions need: verifying a caller's signature over the request
// as it arrived, and signing the request the gateway forwards with the target's credentials. Pure.
// Spec: AWS General Reference, "Signature Version 4 signing process" (create a canonical request, a string
// to sign, the signing key, the signature) and Amazon S3 API Reference "Authenticating Requests (AWS
// Signature Version 4)" (S3 signs the path as sent, without a second encoding or dot-segment removal).
// Shared here because two protocols sign: the AWS listener (verify and re-sign) and MCP's AWS tool (a
// caller signing its loopback request).
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const ALGORITHM = "AWS4-HMAC-SHA256";
/** The hash of an empty payload, hex (what clients put in x-amz-content-sha256 for a bodiless request). */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
export const STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
export const STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
export const STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";

export interface Scope {
  /** YYYYMMDD */
  date: string;
  region: string;
  service: string;
}

export interface ParsedAuthorization {
  accessKeyId: string;
  scope: Scope;
  signedHeaders: string[];
  signature: string;
  /** Set when the signature came in the query (a presigned URL): its date and lifetime. */
  presigned?: { amzDate: string; expiresSeconds: number };
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=a;b, Signature=hex` */
export function parseAuthorization(value: string): ParsedAuthorization | string {
  if (!value.startsWith(`${ALGORITHM} `)) return "only AWS4-HMAC-SHA256 signatures are accepted";
  const fields = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq === -1) return "malformed Authorization header";
    const key = part.slice(0, eq).trim();
    if (fields.has(key)) return `repeated ${key} in the Authorization header`;
    fields.set(key, part.slice(eq + 1).trim());
  }
  const credential = fields.get("Credential");
  const signed = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (!credential || !signed || !signature || fields.size !== 3)
    return "the Authorization header needs exactly Credential, SignedHeaders and Signature";
  const c = credential.split("/");
  if (c.length !== 5 || c[4] !== "aws4_request") return "malformed credential scope";
  const [accessKeyId, date, region, service] = c as [string, string, string, string];
  if (!/^\d{8}$/.test(date) || !/^[a-z0-9-]{1,32}$/.test(region) || !/^[a-z0-9-]{1,32}$/.test(service))
    return "malformed credential scope";
  if (!/^[0-9a-f]{64}$/.test(signature)) return "malformed signature";
  const signedHeaders = signed.split(";");
  if (signedHeaders.some((h) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(h))) return "malformed SignedHeaders";
  const sorted = [...signedHeaders].sort();
  if (sorted.some((h, i) => h !== signedHeaders[i] || (i > 0 && h === sorted[i - 1])))
    return "SignedHeaders must be sorted and unique";
  return { accessKeyId, scope: { date, region, service }, signedHeaders, signature };
}

/** RFC 3986 unreserved characters stay; everything else is %XX (upper hex), '/' too unless `keepSlash`. */
export function uriEncode(text: string, keepSlash: boolean): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    const ch = String.fromCharCode(byte);
    if (
      (byte >= 0x41 && byte <= 0x5a) ||
      (byte >= 0x61 && byte <= 0x7a) ||
      (byte >= 0x30 && byte <= 0x39) ||
      ch === "-" ||
      ch === "_" ||
      ch === "." ||
      ch === "~" ||
      (keepSlash && ch === "/")
    )
      out += ch;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Query pairs (decoded) as SigV4 orders them: each part encoded, sorted by key then value. */
export function canonicalQuery(pairs: readonly (readonly [string, string])[]): string {
  return pairs
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** Header values as SigV4 canonicalises them: trimmed, inner runs of spaces collapsed. */
export function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, " ");
}

export interface CanonicalInput {
  method: string;
  /** Already in canonical form (S3: the encoded path as sent; other services: encoded once more). */
  canonicalUri: string;
  canonicalQuery: string;
  /** Lower-case names, sorted, each with its value. */
  headers: readonly (readonly [string, string])[];
  payloadHash: string;
}

export function canonicalRequest(c: CanonicalInput): string {
  const lines = c.headers.map(([n, v]) => `${n}:${canonicalHeaderValue(v)}\n`).join("");
  const names = c.headers.map(([n]) => n).join(";");
  return `${c.method}\n${c.canonicalUri}\n${c.canonicalQuery}\n${lines}\n${names}\n${c.payloadHash}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function scopeText(s: Scope): string {
  return `${s.date}/${s.region}/${s.service}/aws4_request`;
}

export function stringToSign(amzDate: string, scope: Scope, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scopeText(scope)}\n${sha256Hex(canonical)}`;
}

export function signingKey(secret: string, scope: Scope): Buffer {
  const kDate = createHmac("sha256", `AWS4${secret}`).update(scope.date).digest();
  const kRegion = createHmac("sha256", kDate).update(scope.region).digest();
  const kService = createHmac("sha256", kRegion).update(scope.service).digest();
  return createHmac("sha256", kService).update("aws4_request").digest();
}

export function hmacHex(key: Uint8Array, text: string): string {
  return createHmac("sha256", key).update(text).digest("hex");
}

/** The string to sign of one aws-chunked chunk (S3 "Signature Calculations for the Authorization Header:
 * Transferring Payload in Multiple Chunks"): previous signature, empty-string hash, chunk hash. */
export function chunkStringToSign(
  amzDate: string,
  scope: Scope,
  previous: string,
  chunkHash: string,
): string {
  return `${ALGORITHM}-PAYLOAD\n${amzDate}\n${scopeText(scope)}\n${previous}\n${EMPTY_SHA256}\n${chunkHash}`;
}

export function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `20260101T120000Z` as epoch milliseconds, or null. */
export function parseAmzDate(text: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return null;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? null : ms;
}

export function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

export interface SignRequest {
  method: string;
  canonicalUri: string;
  query: readonly (readonly [string, string])[];
  /** Headers to sign (lower-case names), `host` and `x-amz-date` among them. */
  headers: Record<string, string>;
  payloadHash: string;
  scope: Scope;
  amzDate: string;
  accessKeyId: string;
  secret: string;
}

/** The Authorization header value and the signature (the seed of a chunked body's chain). */
export function sign(r: SignRequest): { authorization: string; signature: string; key: Buffer } {
  const headers = Object.entries(r.headers)
    .map(([n, v]) => [n.toLowerCase(), v] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const canonical = canonicalRequest({
    method: r.method,
    canonicalUri: r.canonicalUri,
    canonicalQuery: canonicalQuery(r.query),
    headers,
    payloadHash: r.payloadHash,
  });
  const key = signingKey(r.secret, r.scope);
  const signature = hmacHex(key, stringToSign(r.amzDate, r.scope, canonical));
  const authorization = `${ALGORITHM} Credential=${r.accessKeyId}/${scopeText(r.scope)}, SignedHeaders=${headers
    .map(([n]) => n)
    .join(";")}, Signature=${signature}`;
  return { authorization, signature, key };
}
