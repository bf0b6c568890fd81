// A tool call's arguments, checked against an allow-list of keys and types before anything runs (pure).
// What is not listed is refused with the name of the offending argument (ENFORCEMENT.md 4 and 7).
import { DEFAULT_ROWS, MAX_ROWS, METHODS } from "./tools.ts";

export type SqlParam = string | number | boolean | null;

export interface QueryArgs {
  sql: string;
  params: SqlParam[];
  maxRows: number;
}

export interface RequestArgs {
  method: (typeof METHODS)[number];
  path: string;
  query: [string, string][];
  /** The JSON body, serialised; absent when none was given. */
  body?: string;
}

export interface ExecArgs {
  command: string;
  /** Sent to the command's standard input, then closed; absent: closed at once. */
  stdin?: string;
}

export interface AwsCallArgs {
  service: string;
  region: string;
  method: (typeof METHODS)[number];
  path: string;
  query: [string, string][];
  /** Only the headers an AWS API needs to name its operation and body (AWS_HEADERS). */
  headers: Record<string, string>;
  body?: string;
}

export type Parsed<T> = { ok: true; args: T } | { ok: false; message: string };

const MAX_SQL = 256 * 1024;
const MAX_PARAMS = 1000;
const MAX_PARAM_TEXT = 64 * 1024;
const MAX_PATH = 8 * 1024;
const MAX_BODY = 1 << 20;
const MAX_COMMAND = 64 * 1024;
const MAX_STDIN = 1 << 20;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function unknownKeys(args: Record<string, unknown>, allowed: readonly string[]): string | null {
  for (const k of Object.keys(args)) if (!allowed.includes(k)) return k;
  return null;
}

export function parseQueryArgs(raw: unknown): Parsed<QueryArgs> {
  const args = raw ?? {};
  if (!isRecord(args)) return { ok: false, message: "arguments must be an object" };
  const extra = unknownKeys(args, ["sql", "params", "max_rows"]);
  if (extra) return { ok: false, message: `unknown argument "${extra}"` };
  const { sql, params = [], max_rows = DEFAULT_ROWS } = args;
  if (typeof sql !== "string" || sql.trim() === "")
    return { ok: false, message: '"sql" must be a non-empty string' };
  if (sql.length > MAX_SQL) return { ok: false, message: `"sql" is longer than ${MAX_SQL} characters` };
  // A NUL cannot travel in a PostgreSQL string; refuse it here rather than let two readers disagree.
  if (sql.includes("\u0000")) return { ok: false, message: '"sql" contains a NUL character' };
  if (!Array.isArray(params) || params.length > MAX_PARAMS)
    return { ok: false, message: `"params" must be an array of at most ${MAX_PARAMS} values` };
  for (const [i, p] of params.entries()) {
    const ok =
      p === null ||
      typeof p === "boolean" ||
      (typeof p === "number" && Number.isFinite(p)) ||
      (typeof p === "string" && p.length <= MAX_PARAM_TEXT && !p.includes("\u0000"));
    if (!ok) return { ok: false, message: `"params[${i}]" must be a string, finite number, boolean or null` };
  }
  if (typeof max_rows !== "number" || !Number.isInteger(max_rows) || max_rows < 1 || max_rows > MAX_ROWS)
    return { ok: false, message: `"max_rows" must be an integer from 1 to ${MAX_ROWS}` };
  return { ok: true, args: { sql, params: params as SqlParam[], maxRows: max_rows } };
}

export function parseRequestArgs(raw: unknown): Parsed<RequestArgs> {
  const args = raw ?? {};
  if (!isRecord(args)) return { ok: false, message: "arguments must be an object" };
  const extra = unknownKeys(args, ["method", "path", "query", "body"]);
  if (extra) return { ok: false, message: `unknown argument "${extra}"` };
  const { method = "GET", path, query = {} } = args;
  if (typeof method !== "string" || !(METHODS as readonly string[]).includes(method))
    return { ok: false, message: `"method" must be one of ${METHODS.join(", ")}` };
  if (typeof path !== "string" || !path.startsWith("/") || path.length > MAX_PATH)
    return { ok: false, message: `"path" must start with / and be at most ${MAX_PATH} characters` };
  // The query travels in "query" only, and a path is never a URL of its own: the request the HTTP gateway
  // decides is exactly the one these arguments describe.
  if (/[?#\s\\]/.test(path) || path.startsWith("//") || hasControl(path))
    return {
      ok: false,
      message: '"path" must not contain ?, #, whitespace, backslashes or control characters',
    };
  const q = queryPairs(query);
  if (!q.ok) return q;
  const pairs = q.args;
  let body: string | undefined;
  if ("body" in args && args.body !== undefined) {
    if (method === "GET" || method === "HEAD")
      return { ok: false, message: `a ${method} request has no body` };
    body = JSON.stringify(args.body);
    if (body.length > MAX_BODY) return { ok: false, message: `"body" is larger than ${MAX_BODY} bytes` };
  }
  return {
    ok: true,
    args: {
      method: method as RequestArgs["method"],
      path,
      query: pairs,
      ...(body !== undefined ? { body } : {}),
    },
  };
}

function queryPairs(query: unknown): Parsed<[string, string][]> {
  if (!isRecord(query)) return { ok: false, message: '"query" must be an object' };
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(query)) {
    const values = Array.isArray(v) ? v : [v];
    for (const one of values) {
      if (typeof one !== "string") return { ok: false, message: `"query.${k}" must be a string or strings` };
      pairs.push([k, one]);
    }
  }
  return { ok: true, args: pairs };
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export function parseExecArgs(raw: unknown): Parsed<ExecArgs> {
  const args = raw ?? {};
  if (!isRecord(args)) return { ok: false, message: "arguments must be an object" };
  const extra = unknownKeys(args, ["command", "stdin"]);
  if (extra) return { ok: false, message: `unknown argument "${extra}"` };
  const { command, stdin } = args;
  if (typeof command !== "string" || command.trim() === "" || command.length > MAX_COMMAND)
    return {
      ok: false,
      message: `"command" must be a non-empty string of at most ${MAX_COMMAND} characters`,
    };
  // A NUL ends the command for the remote shell's C string; the gateway would decide the whole text.
  if (command.includes("\u0000")) return { ok: false, message: '"command" contains a NUL character' };
  if (stdin !== undefined && (typeof stdin !== "string" || stdin.length > MAX_STDIN))
    return { ok: false, message: `"stdin" must be a string of at most ${MAX_STDIN} characters` };
  return { ok: true, args: { command, ...(stdin !== undefined ? { stdin } : {}) } };
}

// What an agent may set on an AWS call: the operation of a JSON-protocol service and the body's type.
// Signing, host, dates and credentials are the gateway's.
const AWS_HEADERS = ["content-type", "x-amz-target"];

export function parseAwsArgs(raw: unknown): Parsed<AwsCallArgs> {
  const args = raw ?? {};
  if (!isRecord(args)) return { ok: false, message: "arguments must be an object" };
  const extra = unknownKeys(args, ["service", "region", "method", "path", "query", "headers", "body"]);
  if (extra) return { ok: false, message: `unknown argument "${extra}"` };
  const { service, region = "us-east-1", method = "GET", path = "/", query = {}, headers = {}, body } = args;
  if (typeof service !== "string" || !/^[a-z0-9-]{1,32}$/.test(service))
    return { ok: false, message: '"service" must be a service signing name such as s3, dynamodb or sqs' };
  if (typeof region !== "string" || !/^[a-z0-9-]{1,32}$/.test(region))
    return { ok: false, message: '"region" must be a region name such as us-east-1' };
  if (typeof method !== "string" || !(METHODS as readonly string[]).includes(method))
    return { ok: false, message: `"method" must be one of ${METHODS.join(", ")}` };
  // Unreserved characters, slashes and percent escapes only: the path signed is the path sent, and the
  // listener canonicalises it the same way (SigV4: S3 as given, other services encoded once more).
  if (
    typeof path !== "string" ||
    !path.startsWith("/") ||
    path.length > MAX_PATH ||
    !/^(?:[A-Za-z0-9._~/-]|%[0-9A-F]{2})*$/.test(path)
  )
    return {
      ok: false,
      message: `"path" must start with / and hold only A-Z a-z 0-9 . _ ~ - / and %XX escapes (at most ${MAX_PATH})`,
    };
  const q = queryPairs(query);
  if (!q.ok) return q;
  if (!isRecord(headers)) return { ok: false, message: '"headers" must be an object' };
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (!AWS_HEADERS.includes(name))
      return { ok: false, message: `header "${k}" is not one an AWS call may set` };
    if (typeof v !== "string" || v.length > 256 || hasControl(v))
      return { ok: false, message: `header "${k}" must be a short string without control characters` };
    h[name] = v;
  }
  if (body !== undefined && (typeof body !== "string" || body.length > MAX_BODY))
    return { ok: false, message: `"body" must be a string of at most ${MAX_BODY} characters` };
  return {
    ok: true,
    args: {
      service,
      region,
      method: method as AwsCallArgs["method"],
      path,
      query: q.args,
      headers: h,
      ...(body !== undefined ? { body } : {}),
    },
  };
}
