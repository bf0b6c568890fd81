// Presigned URLs: SigV4 carried in the query (Amazon S3 API Reference, "Authenticating Requests: Using
// Query Parameters (AWS Signature Version 4)"): X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-Expires (1 to 604800 seconds), X-Amz-SignedHeaders and X-Amz-Signature. The canonical query is
// every parameter but X-Amz-Signature; the payload is UNSIGNED-PAYLOAD. The gateway accepts them for S3
// only, verifies them like a header signature, decides the operation they name, and strips these
// parameters before re-signing upstream with header authentication. Pure.
import { ALGORITHM, type ParsedAuthorization, parseAuthorization } from "../../net/sigv4.ts";

/** S3's ceiling on X-Amz-Expires: seven days. */
export const MAX_PRESIGNED_SECONDS = 604_800;

/** The query parameters that carry a presigned signature (never forwarded, never decided). */
export const PRESIGN_PARAMS = new Set([
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Signature",
]);

export interface Presigned {
  amzDate: string;
  expiresSeconds: number;
}

/** True when the query carries any presigned-signature parameter (any case: none may slip through). */
export function looksPresigned(pairs: readonly (readonly [string, string])[]): boolean {
  return pairs.some(
    ([k]) =>
      /^x-amz-(signature|credential|algorithm|signedheaders|security-token)$/i.test(k) ||
      // Signature Version 2 query authentication (AWSAccessKeyId, Signature, Expires): refused by name.
      k === "AWSAccessKeyId",
  );
}

/** The signature a presigned query carries, or why it is not one the gateway accepts. */
export function parsePresigned(
  pairs: readonly (readonly [string, string])[],
): { auth: ParsedAuthorization; presigned: Presigned } | string {
  if (pairs.some(([k]) => k === "AWSAccessKeyId"))
    return "Signature Version 2 links are not accepted: presign with SigV4 (profile: s3 = signature_version = s3v4)";
  const fields = new Map<string, string>();
  for (const [k, v] of pairs) {
    if (/^x-amz-security-token$/i.test(k))
      return "X-Amz-Security-Token is not accepted: gateway credentials carry no session token";
    if (!/^x-amz-/i.test(k)) continue;
    const canonical = [...PRESIGN_PARAMS].find((p) => p.toLowerCase() === k.toLowerCase());
    if (canonical === undefined) continue;
    if (canonical !== k) return `presigned parameter ${k} must be spelled ${canonical}`;
    if (fields.has(k)) return `repeated ${k} in the query`;
    fields.set(k, v);
  }
  for (const p of PRESIGN_PARAMS) if (!fields.has(p)) return `a presigned URL needs ${p}`;
  if (fields.get("X-Amz-Algorithm") !== ALGORITHM) return "only AWS4-HMAC-SHA256 signatures are accepted";
  const expires = fields.get("X-Amz-Expires")!;
  if (!/^\d{1,6}$/.test(expires) || +expires < 1 || +expires > MAX_PRESIGNED_SECONDS)
    return `X-Amz-Expires must be 1 to ${MAX_PRESIGNED_SECONDS} seconds`;
  for (const p of ["X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature"])
    if (/[,\s]/.test(fields.get(p)!)) return `malformed ${p}`;
  const auth = parseAuthorization(
    `${ALGORITHM} Credential=${fields.get("X-Amz-Credential")}, SignedHeaders=${fields.get(
      "X-Amz-SignedHeaders",
    )}, Signature=${fields.get("X-Amz-Signature")}`,
  );
  if (typeof auth === "string") return auth;
  return { auth, presigned: { amzDate: fields.get("X-Amz-Date")!, expiresSeconds: +expires } };
}

/** The query without the presigned signature's parameters: what is decided and what goes upstream. */
export function withoutPresign(pairs: readonly [string, string][]): [string, string][] {
  return pairs.filter(([k]) => !PRESIGN_PARAMS.has(k));
}
