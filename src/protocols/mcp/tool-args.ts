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
  if (!isRecord(query)) return { ok: false, message: '"query" must be an object' };
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(query)) {
    const values = Array.isArray(v) ? v : [v];
    for (const one of values) {
      if (typeof one !== "string") return { ok: false, message: `"query.${k}" must be a string or strings` };
      pairs.push([k, one]);
    }
  }
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
