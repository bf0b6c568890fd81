// What an AWS API request asks for, as the target will read it: the service from the signature's credential
// scope, the operation from X-Amz-Target (the JSON protocols: DynamoDB, SQS, KMS…), the `Action` parameter
// (the query protocols: STS, IAM, SQS's older form) or the REST mapping (S3, s3-operation.ts), and the
// resource the operation names. Pure: bytes and header values in, an operation or a refusal reason out.
import { type S3Operation, s3Operation } from "./s3-operation.ts";

export type WireProtocol = "rest-xml" | "json" | "query";

export interface AwsOperation {
  service: string;
  action: string;
  protocol: WireProtocol;
  /** An ARN-like name of what the action touches (`arn:aws:s3:::bucket/key`, `arn:aws:dynamodb:…:table/T`). */
  resource: string;
  /** The request's parameters (JSON members, query parameters), secrets removed; absent past the bound. */
  params?: Record<string, unknown>;
  params_skipped?: string;
  s3?: S3Operation;
}

/** X-Amz-Target prefixes each JSON-protocol service answers to (the service's Smithy model names them). */
const JSON_TARGETS: Record<string, string[]> = {
  dynamodb: ["DynamoDB_20120810"],
  sqs: ["AmazonSQS"],
  kms: ["TrentService"],
  logs: ["Logs_20140328"],
  secretsmanager: ["secretsmanager"],
  ssm: ["AmazonSSM"],
  sts: ["AWSSecurityTokenServiceV20110615"],
};

/** Services that speak the query protocol (`Action=…&Version=…`). */
const QUERY_SERVICES = new Set(["sts", "iam", "sqs", "sns", "ec2", "cloudformation", "rds"]);

// Parameter names whose values are secrets: never put in the policy input, the audit log or a recording.
const SECRET_PARAM = /password|secret|privatekey|sessiontoken|credentials?$/i;

export interface RequestFacts {
  service: string;
  region: string;
  method: string;
  /** Decoded path. */
  path: string;
  query: readonly (readonly [string, string])[];
  /** Lower-case header names. */
  headers: Headers;
  /** The body when buffered (every service but S3's object uploads), else null. */
  body: Uint8Array | null;
  /** Bodies past this are not parsed into `params`. */
  paramsBound: number;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

export function awsOperation(f: RequestFacts): AwsOperation | string {
  if (f.service === "s3") {
    const op = s3Operation(f.method, f.path, f.query, f.headers.get("x-amz-copy-source"));
    if (typeof op === "string") return op;
    const resource = `arn:aws:s3:::${op.bucket ?? "*"}${op.key !== null ? `/${op.key}` : ""}`;
    const params: Record<string, unknown> = Object.fromEntries(f.query);
    const copy = f.headers.get("x-amz-copy-source");
    if (copy !== null) params.copy_source = copy;
    return { service: "s3", action: op.action, protocol: "rest-xml", resource, params, s3: op };
  }
  const target = f.headers.get("x-amz-target");
  if (target !== null) return jsonOperation(f, target);
  if (QUERY_SERVICES.has(f.service)) return queryOperation(f);
  return `the gateway does not know how ${f.service} requests name their operation`;
}

function jsonOperation(f: RequestFacts, target: string): AwsOperation | string {
  const prefixes = JSON_TARGETS[f.service];
  if (!prefixes) return `${f.service} does not speak a JSON protocol the gateway knows`;
  const dot = target.lastIndexOf(".");
  const prefix = target.slice(0, dot);
  const action = target.slice(dot + 1);
  if (dot === -1 || !prefixes.includes(prefix) || !/^[A-Za-z][A-Za-z0-9]{0,127}$/.test(action))
    return `X-Amz-Target "${target}" is not an operation of ${f.service}`;
  if (f.method !== "POST" || f.path !== "/" || f.query.length > 0)
    return "JSON protocol requests are a POST to / without query parameters";
  const type = (f.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/x-amz-json-1.0" && type !== "application/x-amz-json-1.1")
    return `a JSON protocol request needs Content-Type application/x-amz-json-1.0 or 1.1, not "${type}"`;
  let params: Record<string, unknown> | undefined;
  let skipped: string | undefined;
  const body = f.body ?? new Uint8Array(0);
  try {
    const parsed = body.length === 0 ? {} : JSON.parse(decoder.decode(body));
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      return "the request body must be a JSON object";
    if (body.length <= f.paramsBound) params = withoutSecrets(parsed as Record<string, unknown>);
    else skipped = "too_large";
    return {
      service: f.service,
      action,
      protocol: "json",
      resource: jsonResource(f, action, parsed as Record<string, unknown>),
      ...(params ? { params } : { params_skipped: skipped }),
    };
  } catch {
    return "the request body is not valid JSON";
  }
}

function queryOperation(f: RequestFacts): AwsOperation | string {
  const pairs: [string, string][] = [...f.query].map(([k, v]) => [k, v]);
  if (f.method === "POST") {
    const type = (f.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded")
      return `a query protocol POST needs Content-Type application/x-www-form-urlencoded, not "${type}"`;
    let text: string;
    try {
      text = decoder.decode(f.body ?? new Uint8Array(0));
    } catch {
      return "the request body is not UTF-8";
    }
    for (const [k, v] of new URLSearchParams(text)) pairs.push([k, v]);
  } else if (f.method !== "GET") return `${f.method} is not a query protocol request`;
  if (f.path !== "/") return "query protocol requests go to /";
  const params: Record<string, unknown> = {};
  for (const [k, v] of pairs) {
    if (k in params) return `the parameter ${k} is repeated`;
    params[k] = v;
  }
  const action = params.Action;
  if (typeof action !== "string" || !/^[A-Za-z][A-Za-z0-9]{0,127}$/.test(action))
    return "a query protocol request needs one Action parameter";
  const size = f.body?.length ?? 0;
  return {
    service: f.service,
    action,
    protocol: "query",
    resource: queryResource(f, params),
    ...(size <= f.paramsBound ? { params: withoutSecrets(params) } : { params_skipped: "too_large" }),
  };
}

function withoutSecrets(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) if (!SECRET_PARAM.test(k)) out[k] = v;
  return out;
}

function str(v: unknown): string | null {
  return typeof v === "string" && v !== "" ? v : null;
}

function jsonResource(f: RequestFacts, action: string, body: Record<string, unknown>): string {
  if (f.service === "dynamodb") {
    const tables = str(body.TableName)
      ? [body.TableName as string]
      : body.RequestItems && typeof body.RequestItems === "object"
        ? Object.keys(body.RequestItems as object).sort()
        : [];
    if (tables.length === 0) return `arn:aws:dynamodb:${f.region}::table/*`;
    return tables.map((t) => `arn:aws:dynamodb:${f.region}::table/${t}`).join(",");
  }
  if (f.service === "sqs") return sqsResource(f, body.QueueUrl, body.QueueName);
  if (f.service === "kms") return `arn:aws:kms:${f.region}::key/${str(body.KeyId) ?? "*"}`;
  return `arn:aws:${f.service}:${f.region}::${action}`;
}

function sqsResource(f: RequestFacts, url: unknown, name: unknown): string {
  const fromUrl = str(url)?.split("/").pop();
  return `arn:aws:sqs:${f.region}::${fromUrl ?? str(name) ?? "*"}`;
}

const IAM_NAMES = ["UserName", "RoleName", "GroupName", "PolicyArn", "PolicyName", "InstanceProfileName"];

function queryResource(f: RequestFacts, params: Record<string, unknown>): string {
  if (f.service === "iam") {
    for (const n of IAM_NAMES) {
      const v = str(params[n]);
      if (v !== null)
        return v.startsWith("arn:") ? v : `arn:aws:iam:::${n.replace(/Name$/, "").toLowerCase()}/${v}`;
    }
    return "arn:aws:iam:::*";
  }
  if (f.service === "sqs") return sqsResource(f, params.QueueUrl, params.QueueName);
  if (f.service === "sts") return `arn:aws:sts:::${String(params.Action)}`;
  return `arn:aws:${f.service}:${f.region}::*`;
}
