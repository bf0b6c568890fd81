// The request the gateway sends the target: the canonical path of the decided operation (S3: the decoded
// bucket and key encoded again, so what was decided is what is addressed), the client's headers that
// survive the allow-list, and a fresh SigV4 signature with the target's credentials. Nothing of the
// caller's signature or key id reaches the target. Pure apart from reading the clock.

import {
  amzDate,
  EMPTY_SHA256,
  type Scope,
  STREAMING_SIGNED,
  STREAMING_SIGNED_TRAILER,
  STREAMING_UNSIGNED_TRAILER,
  sha256Hex,
  sign,
  UNSIGNED_PAYLOAD,
  uriEncode,
} from "../../net/sigv4.ts";
import type { UpstreamCredentials } from "./assume-role.ts";
import type { AwsOperation } from "./codec.ts";
import { type AwsTarget, upstreamOrigin } from "./target.ts";
import type { PayloadMode } from "./verify.ts";

/** Standard headers relayed to S3 as the client sent them (signed by the client, re-signed here). */
const S3_HEADERS = new Set([
  "content-type",
  "content-md5",
  "content-encoding",
  "content-language",
  "content-disposition",
  "cache-control",
  "expires",
  "range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
]);

/** x-amz-* headers S3 requests may carry (the S3 API Reference's request headers); others are refused. */
const S3_AMZ_EXACT = new Set([
  "x-amz-acl",
  "x-amz-storage-class",
  "x-amz-tagging",
  "x-amz-tagging-directive",
  "x-amz-metadata-directive",
  "x-amz-website-redirect-location",
  "x-amz-request-payer",
  "x-amz-expected-bucket-owner",
  "x-amz-source-expected-bucket-owner",
  "x-amz-sdk-checksum-algorithm",
  "x-amz-decoded-content-length",
  "x-amz-trailer",
  "x-amz-bucket-object-lock-enabled",
  "x-amz-object-ownership",
  "x-amz-mfa",
  "x-amz-bypass-governance-retention",
  "x-amz-checksum-mode",
  "x-amz-object-attributes",
  "x-amz-max-parts",
  "x-amz-part-number-marker",
  "x-amz-optional-object-attributes",
  "x-amz-confirm-remove-self-bucket-access",
  "x-amz-mp-parts-count",
]);
const S3_AMZ_PREFIXES = [
  "x-amz-meta-",
  "x-amz-checksum-",
  "x-amz-grant-",
  "x-amz-server-side-encryption",
  "x-amz-object-lock-",
  "x-amz-copy-source",
];
/** Set by the gateway itself, or the caller's own credentials: never relayed. */
const GATEWAY_OWNED = new Set([
  "x-amz-date",
  "x-amz-content-sha256",
  "x-amz-security-token",
  "x-amz-user-agent",
]);

/**
 * The x-amz-* and standard headers to relay, lower-case; a string names an S3 header the gateway does
 * not know (refused: S3 reads headers as parameters, so an unknown one is an undecided parameter).
 */
export function relayedHeaders(op: AwsOperation, headers: Headers): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    const n = name.toLowerCase();
    if (GATEWAY_OWNED.has(n)) continue;
    if (op.service === "s3") {
      if (S3_HEADERS.has(n)) out[n] = value;
      else if (n.startsWith("x-amz-")) {
        if (S3_AMZ_EXACT.has(n) || S3_AMZ_PREFIXES.some((p) => n.startsWith(p))) out[n] = value;
        else return n;
      }
    } else if (n === "content-type" || n === "x-amz-target") out[n] = value;
  }
  return out;
}

export interface UpstreamPlan {
  url: string;
  headers: Record<string, string>;
  /** The scope and date the request was signed with, and its signature (a chunked body's chain seed). */
  scope: Scope;
  amzDate: string;
  signature: string;
  key: Buffer;
}

export interface UpstreamInput {
  target: AwsTarget;
  /** Whose signature the target sees: the connection's key, or the role assumed for this session. */
  creds: UpstreamCredentials;
  op: AwsOperation;
  method: string;
  query: readonly (readonly [string, string])[];
  relayed: Record<string, string>;
  /** Buffered body (its hash is signed), or null for a streamed one (signed by `payloadMode`). */
  body: Uint8Array | null;
  payloadMode: PayloadMode;
  /** The caller's signed hex hash of a streamed body (hex mode). */
  callerPayloadHash: string;
  now: number;
}

export function canonicalPath(op: AwsOperation): string {
  const s3 = op.s3;
  if (!s3 || s3.bucket === null) return "/";
  return `/${s3.bucket}${s3.key !== null ? `/${uriEncode(s3.key, true)}` : ""}`;
}

export function planUpstream(u: UpstreamInput): UpstreamPlan {
  const origin = upstreamOrigin(u.target, u.op.service);
  const url = new URL(origin);
  const path = canonicalPath(u.op);
  const queryText = u.query.map(([k, v]) => `${uriEncode(k, false)}=${uriEncode(v, false)}`).join("&");
  const payloadHash =
    u.body !== null
      ? u.payloadMode === "unsigned"
        ? UNSIGNED_PAYLOAD
        : sha256Hex(u.body)
      : u.payloadMode === "hex"
        ? u.callerPayloadHash
        : u.payloadMode === "unsigned"
          ? UNSIGNED_PAYLOAD
          : u.payloadMode === "streaming-signed"
            ? STREAMING_SIGNED
            : u.payloadMode === "streaming-signed-trailer"
              ? STREAMING_SIGNED_TRAILER
              : STREAMING_UNSIGNED_TRAILER;
  const date = amzDate(u.now);
  const scope: Scope = { date: date.slice(0, 8), region: u.target.region, service: u.op.service };
  const signed: Record<string, string> = {
    ...u.relayed,
    host: url.host,
    "x-amz-date": date,
    "x-amz-content-sha256":
      u.body !== null && u.body.length === 0 && payloadHash !== UNSIGNED_PAYLOAD ? EMPTY_SHA256 : payloadHash,
    // Temporary credentials are valid only with their session token, signed like any x-amz-* header.
    ...(u.creds.sessionToken !== null ? { "x-amz-security-token": u.creds.sessionToken } : {}),
  };
  const s = sign({
    method: u.method,
    canonicalUri: u.op.service === "s3" ? path : uriEncode(path, true),
    query: u.query,
    headers: signed,
    payloadHash: signed["x-amz-content-sha256"]!,
    scope,
    amzDate: date,
    accessKeyId: u.creds.accessKeyId,
    secret: u.creds.secretAccessKey,
  });
  const headers = { ...signed, authorization: s.authorization };
  return {
    url: `${url.protocol}//${url.host}${path}${queryText ? `?${queryText}` : ""}`,
    headers,
    scope,
    amzDate: date,
    signature: s.signature,
    key: s.key,
  };
}
