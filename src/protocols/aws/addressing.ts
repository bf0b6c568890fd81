// Where a call arrived and what it addresses. Three ways in, one operation path:
//   listen.aws               http://gw:4566/bucket/key              the path as is
//   listen.http mount        http://gw:8080/aws/<conn>/bucket/key   the client's endpoint_url names the
//                            connection; the SigV4 canonical path is the full path as the client signed it,
//                            the operation path what follows the mount
//   S3 virtual-hosted        http://bucket.<virtual_host_base>/key  the bucket from the Host header (Amazon
//                            S3 User Guide, "Virtual hosting of buckets"), the operation path /bucket/key
// Pure.

/** The mount prefix of a connection on listen.http. */
export function mountPrefix(connection: string): string {
  return `/aws/${connection}`;
}

export interface Addressed {
  /** The path as sent (still percent-encoded): what the caller's signature covers. */
  signedPath: string;
  rawQuery: string;
  /** The path-style path the operation is classified from (still percent-encoded). */
  opPath: string;
  /** Where the client reaches this connection (response rewrites, SQS queue URLs). */
  clientOrigin: string;
  /** The connection the mount names; null on listen.aws (the credential says which). */
  mounted: string | null;
  /** The bucket taken from the Host header and the connection whose base named it, when virtual-hosted. */
  virtual: { bucket: string; connection: string } | null;
}

/** The request target as sent (Bun keeps the client's escapes in `req.url`). */
export function splitTarget(url: string): { rawPath: string; rawQuery: string } {
  const afterScheme = url.indexOf("//");
  const pathStart = url.indexOf("/", afterScheme + 2);
  const target = pathStart === -1 ? "/" : url.slice(pathStart);
  const q = target.indexOf("?");
  return q === -1
    ? { rawPath: target, rawQuery: "" }
    : { rawPath: target.slice(0, q), rawQuery: target.slice(q + 1) };
}

/** The connection a listen.http path is mounted for, or null when the path is not under /aws/<conn>/. */
export function mountedConnection(rawPath: string, connections: ReadonlySet<string>): string | null {
  if (!rawPath.startsWith("/aws/")) return null;
  const end = rawPath.indexOf("/", 5);
  const name = rawPath.slice(5, end === -1 ? undefined : end);
  return connections.has(name) ? name : null;
}

// DNS-compatible bucket names (S3 User Guide, "Bucket naming rules"): 3-63 of a-z 0-9 . -, no dot runs.
const BUCKET_LABEL = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * The bucket and the connection whose base it is, when `host` (port ignored) is `<bucket>.<base>` for a
 * configured base (`virtual_host_base`, base → connection); else null.
 */
export function virtualHostBucket(
  host: string,
  bases: ReadonlyMap<string, string>,
): { bucket: string; connection: string } | null {
  const name = host.replace(/:\d+$/, "").toLowerCase();
  for (const [base, connection] of bases) {
    const suffix = `.${base}`;
    if (!name.endsWith(suffix)) continue;
    const bucket = name.slice(0, -suffix.length);
    if (BUCKET_LABEL.test(bucket) && !bucket.includes("..")) return { bucket, connection };
  }
  return null;
}

export function addressOf(
  url: string,
  host: string,
  mounted: string | null,
  virtualHostBases: ReadonlyMap<string, string>,
): Addressed {
  const { rawPath, rawQuery } = splitTarget(url);
  const prefix = mounted === null ? "" : mountPrefix(mounted);
  let opPath = rawPath.slice(prefix.length);
  if (!opPath.startsWith("/")) opPath = `/${opPath}`;
  const virtual = mounted === null ? virtualHostBucket(host, virtualHostBases) : null;
  if (virtual !== null) opPath = `/${virtual.bucket}${opPath}`;
  return {
    signedPath: rawPath,
    rawQuery,
    opPath,
    clientOrigin: `http://${host}${prefix}`,
    mounted,
    virtual,
  };
}
