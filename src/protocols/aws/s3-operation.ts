// The S3 REST API's operation for a request: method, bucket, key and sub-resource (Amazon S3 API
// Reference, each operation's "Request Syntax"). Path-style addressing only (`/bucket/key`): Host is never
// read, and the request is forwarded path-style, so what is decided is what the target addresses. Pure.
// A query parameter nobody listed is refused: S3 treats unknown sub-resources as operations of their own.

export interface S3Operation {
  action: string;
  bucket: string | null;
  key: string | null;
  /** The sub-resource that selected the action (`acl`, `delete`, `uploads`…), or null. */
  subresource: string | null;
  /** Streams its body (PutObject, UploadPart): the body is relayed, not buffered. */
  streamsBody: boolean;
}

// Sub-resources (a query parameter whose presence selects the operation), per target kind and method.
const BUCKET_SUB: Record<string, Record<string, string>> = {
  GET: {
    acl: "GetBucketAcl",
    policy: "GetBucketPolicy",
    location: "GetBucketLocation",
    versioning: "GetBucketVersioning",
    uploads: "ListMultipartUploads",
    versions: "ListObjectVersions",
    tagging: "GetBucketTagging",
    cors: "GetBucketCors",
    lifecycle: "GetBucketLifecycleConfiguration",
    encryption: "GetBucketEncryption",
    notification: "GetBucketNotificationConfiguration",
    website: "GetBucketWebsite",
    logging: "GetBucketLogging",
    replication: "GetBucketReplication",
    "object-lock": "GetObjectLockConfiguration",
    ownershipControls: "GetBucketOwnershipControls",
    publicAccessBlock: "GetPublicAccessBlock",
    policyStatus: "GetBucketPolicyStatus",
    requestPayment: "GetBucketRequestPayment",
    accelerate: "GetBucketAccelerateConfiguration",
  },
  PUT: {
    acl: "PutBucketAcl",
    policy: "PutBucketPolicy",
    versioning: "PutBucketVersioning",
    tagging: "PutBucketTagging",
    cors: "PutBucketCors",
    lifecycle: "PutBucketLifecycleConfiguration",
    encryption: "PutBucketEncryption",
    notification: "PutBucketNotificationConfiguration",
    website: "PutBucketWebsite",
    logging: "PutBucketLogging",
    replication: "PutBucketReplication",
    "object-lock": "PutObjectLockConfiguration",
    ownershipControls: "PutBucketOwnershipControls",
    publicAccessBlock: "PutPublicAccessBlock",
    requestPayment: "PutBucketRequestPayment",
    accelerate: "PutBucketAccelerateConfiguration",
  },
  DELETE: {
    policy: "DeleteBucketPolicy",
    tagging: "DeleteBucketTagging",
    cors: "DeleteBucketCors",
    lifecycle: "DeleteBucketLifecycle",
    encryption: "DeleteBucketEncryption",
    website: "DeleteBucketWebsite",
    replication: "DeleteBucketReplication",
    ownershipControls: "DeleteBucketOwnershipControls",
    publicAccessBlock: "DeletePublicAccessBlock",
  },
  POST: { delete: "DeleteObjects" },
};

const OBJECT_SUB: Record<string, Record<string, string>> = {
  GET: {
    acl: "GetObjectAcl",
    tagging: "GetObjectTagging",
    uploadId: "ListParts",
    attributes: "GetObjectAttributes",
    retention: "GetObjectRetention",
    "legal-hold": "GetObjectLegalHold",
  },
  PUT: {
    acl: "PutObjectAcl",
    tagging: "PutObjectTagging",
    retention: "PutObjectRetention",
    "legal-hold": "PutObjectLegalHold",
  },
  DELETE: { tagging: "DeleteObjectTagging", uploadId: "AbortMultipartUpload" },
  POST: { uploads: "CreateMultipartUpload", uploadId: "CompleteMultipartUpload", restore: "RestoreObject" },
};

// Parameters that refine an operation without selecting one (listing, paging, versions, parts, response
// header overrides, and the SDKs' own `x-id` operation hint).
const PLAIN_PARAMS = new Set([
  "prefix",
  "delimiter",
  "max-keys",
  "marker",
  "list-type",
  "continuation-token",
  "start-after",
  "fetch-owner",
  "encoding-type",
  "key-marker",
  "version-id-marker",
  "upload-id-marker",
  "max-uploads",
  "max-parts",
  "part-number-marker",
  "versionId",
  "partNumber",
  "uploadId",
  "response-content-type",
  "response-content-language",
  "response-expires",
  "response-cache-control",
  "response-content-disposition",
  "response-content-encoding",
  "x-id",
  "bucket-region",
  "max-buckets",
]);

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * `path` is the decoded path (`/bucket/some key`), `query` the decoded pairs. `copySource` is the
 * x-amz-copy-source header, which turns a PUT of an object into a copy.
 */
export function s3Operation(
  method: string,
  path: string,
  query: readonly (readonly [string, string])[],
  copySource: string | null,
): S3Operation | string {
  if (!path.startsWith("/")) return "the path must start with /";
  const slash = path.indexOf("/", 1);
  const bucket = slash === -1 ? path.slice(1) : path.slice(1, slash);
  const rawKey = slash === -1 ? "" : path.slice(slash + 1);
  const key = rawKey === "" ? null : rawKey;
  if (bucket !== "" && !BUCKET_NAME.test(bucket)) return `"${bucket}" is not a bucket name`;
  if (key !== null && key.split("/").some((s) => s === "." || s === ".."))
    return "object keys with . or .. segments are refused (servers resolve them differently)";
  const names = new Set<string>();
  for (const [name] of query) {
    if (names.has(name)) return `the query parameter ${name} is repeated`;
    names.add(name);
  }
  const table = key !== null ? OBJECT_SUB[method] : BUCKET_SUB[method];
  const subs = [...names].filter((n) => table?.[n] !== undefined);
  // uploadId refines partNumber uploads; `uploads` with `uploadId` is not a request S3 defines.
  const selecting = subs.filter((n) => !(n === "uploadId" && method === "PUT"));
  if (selecting.length > 1) return `sub-resources ${selecting.join(", ")} cannot be combined`;
  for (const n of names) {
    if (PLAIN_PARAMS.has(n) || table?.[n] !== undefined) continue;
    return `the query parameter "${n}" is not one the gateway knows for ${method} ${key !== null ? "object" : bucket ? "bucket" : "service"} requests`;
  }
  const sub = selecting[0] ?? null;
  const op = (action: string, streamsBody = false): S3Operation => ({
    action,
    bucket: bucket || null,
    key,
    subresource: sub,
    streamsBody,
  });
  if (bucket === "") {
    if (
      method === "GET" &&
      names.size ===
        [...names].filter(
          (n) =>
            n === "x-id" ||
            n === "max-buckets" ||
            n === "bucket-region" ||
            n === "prefix" ||
            n === "continuation-token",
        ).length
    )
      return op("ListBuckets");
    return `${method} / is not an S3 operation`;
  }
  if (sub !== null) return op(table![sub]!);
  if (key === null) {
    switch (method) {
      case "GET":
        return op(names.has("list-type") ? "ListObjectsV2" : "ListObjects");
      case "HEAD":
        return op("HeadBucket");
      case "PUT":
        return op("CreateBucket");
      case "DELETE":
        return op("DeleteBucket");
      default:
        return `${method} on a bucket is not an S3 operation`;
    }
  }
  switch (method) {
    case "GET":
      return op("GetObject");
    case "HEAD":
      return op("HeadObject");
    case "PUT":
      if (names.has("partNumber") && names.has("uploadId"))
        return op(copySource !== null ? "UploadPartCopy" : "UploadPart", copySource === null);
      if (names.has("partNumber") || names.has("uploadId")) return "partNumber and uploadId go together";
      return op(copySource !== null ? "CopyObject" : "PutObject", copySource === null);
    case "DELETE":
      return op("DeleteObject");
    default:
      return `${method} on an object is not an S3 operation`;
  }
}
