// `<conn>__request`: one HTTP request sent to the gateway's own HTTP front door on loopback
// (`/c/<conn>/…`) with the caller's own token, so it is decided, masked and recorded exactly as a native
// client's request is. Only the method, path, query and a JSON body come from the agent: no headers.
import type { RequestArgs } from "./tool-args.ts";
import { MAX_RESULT_BYTES } from "./tools.ts";

export interface HttpResult {
  status: number;
  contentType: string | null;
  /** The body as text when it is textual; else base64. */
  body: string;
  encoding: "utf-8" | "base64";
  truncated: boolean;
  /** A refusal by the gateway itself (problem+json naming a rule). */
  rule?: string;
}

export const TEXTUAL =
  /^(text\/|application\/([\w.+-]*\+)?(json|xml)\b|application\/(x-www-form-urlencoded|javascript)\b)/i;

export async function sendRequest(
  port: number,
  credential: string,
  connection: string,
  args: RequestArgs,
  signal: AbortSignal,
): Promise<HttpResult> {
  const search = args.query.length > 0 ? `?${new URLSearchParams(args.query).toString()}` : "";
  const url = `http://127.0.0.1:${port}/c/${encodeURIComponent(connection)}${args.path}${search}`;
  const headers: Record<string, string> = {
    authorization: `Bearer ${credential}`,
    accept: "application/json, text/*;q=0.9, */*;q=0.1",
    "user-agent": "custos-mcp",
  };
  if (args.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url, {
    method: args.method,
    headers,
    body: args.body,
    redirect: "manual",
    signal,
  });
  const contentType = res.headers.get("content-type");
  const { bytes, truncated } = await readCapped(res, MAX_RESULT_BYTES);
  const textual = contentType === null || TEXTUAL.test(contentType);
  const body = textual ? new TextDecoder().decode(bytes) : Buffer.from(bytes).toString("base64");
  const result: HttpResult = {
    status: res.status,
    contentType,
    body,
    encoding: textual ? "utf-8" : "base64",
    truncated,
  };
  if (contentType?.startsWith("application/problem+json") && !truncated) {
    try {
      const problem = JSON.parse(body) as { rule?: unknown };
      if (typeof problem.rule === "string") result.rule = problem.rule;
    } catch {
      // Not the gateway's problem document: reported as the upstream sent it.
    }
  }
  return result;
}

/** Reads at most `cap` bytes, then drops the rest of the stream (ENFORCEMENT.md 7). */
export async function readCapped(
  res: Response,
  cap: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  if (!res.body) return { bytes: new Uint8Array(0), truncated: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (size + value.byteLength > cap) {
      chunks.push(value.subarray(0, cap - size));
      size = cap;
      truncated = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    size += value.byteLength;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return { bytes: out, truncated };
}
