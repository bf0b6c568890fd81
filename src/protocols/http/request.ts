// From the client's request to the request the upstream will execute, and the command the policy
// decides about it: one canonical path (canonical.ts), one method (the method-override family stripped,
// or applied when the connection declares it), the query without the gateway's own parameters, and the
// headers that pass the allow-list (headers.ts). The gateway forwards exactly this, nothing of the raw.
import type { Command, HttpRequestInfo } from "../../core/command.ts";
import { CustosError } from "../../core/errors.ts";
import { canonicalPath } from "./canonical.ts";
import { type ClientOrigin, METHOD_OVERRIDE_HEADERS, readRequestHeaders } from "./headers.ts";
import { type HttpTarget, injectedHeader } from "./target.ts";

/** The override parameter in a query or form body (Rails, Laravel, Symfony, Express method-override). */
export const METHOD_PARAM = "_method";

/** Parameter names (compared lower-cased) that some framework reads as a method override. */
const OVERRIDE_PARAMS = new Set([
  METHOD_PARAM,
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
]);

/** Takes every override parameter out of `params` (any case), returning their values. */
export function takeOverrides(params: URLSearchParams): string[] {
  const names = [...new Set([...params.keys()].filter((k) => OVERRIDE_PARAMS.has(k.toLowerCase())))];
  const values: string[] = [];
  for (const k of names) {
    values.push(...params.getAll(k));
    params.delete(k);
  }
  return values;
}

export interface UpstreamRequest {
  /** What the upstream executes, and what the policy decides. */
  method: string;
  /** Canonical path below the connection's target. */
  path: string;
  /** `?…` or "", without the injected query credential (added when forwarding). */
  search: string;
  query: Record<string, string[]>;
  /** Forwarded request headers, before the credential is injected. */
  headers: Headers;
  /** The forwarded headers as the policy sees them (headers.ts policyHeaders), read with `headers`. */
  policyHeaders: Record<string, string>;
  /** The client's headers as recorded (headers.ts recordedHeaders), read with `headers`. */
  recordedHeaders: Record<string, string>;
  injected: string | undefined;
}

export type Prepared = { ok: true; request: UpstreamRequest } | { ok: false; error: CustosError };

const TOKEN = /^[A-Za-z]{1,20}$/;

/** `rest` is the path below /c/<name> as received; `search` includes its "?". */
export function prepareRequest(
  req: Request,
  target: HttpTarget,
  rest: string,
  search: string,
  origin: ClientOrigin | null,
): Prepared {
  const canonical = canonicalPath(rest);
  if (!canonical.ok) return { ok: false, error: new CustosError("protocol.malformed", canonical.reason) };
  const injected = injectedHeader(target.inject);
  // Most requests have no query: nothing to parse, strip or list.
  const params = search === "" ? null : new URLSearchParams(search);
  if (params && target.inject?.kind === "query") {
    // Any spelling of the credential's parameter: some frameworks read query names case-insensitively.
    const own = target.inject.name.toLowerCase();
    for (const k of [...new Set(params.keys())]) if (k.toLowerCase() === own) params.delete(k);
  }
  // Every override the client wrote, from headers and the query.
  const overrides: string[] = [];
  for (const h of METHOD_OVERRIDE_HEADERS) {
    const v = req.headers.get(h);
    if (v !== null) overrides.push(v);
  }
  if (params) overrides.push(...takeOverrides(params));
  let method = req.method;
  if (target.relay.methodOverride && overrides.length > 0) {
    const chosen = chooseOverride(overrides);
    if (chosen instanceof CustosError) return { ok: false, error: chosen };
    method = chosen;
  }
  const query: Record<string, string[]> = {};
  if (params)
    for (const [k, v] of params) {
      const list = query[k];
      if (list) list.push(v);
      else query[k] = [v];
    }
  const headers = readRequestHeaders(req.headers, target.relay, origin, injected);
  return {
    ok: true,
    request: {
      method,
      path: canonical.path,
      search: params?.size ? `?${params}` : "",
      query,
      headers: headers.forward,
      policyHeaders: headers.policy,
      recordedHeaders: headers.recorded,
      injected,
    },
  };
}

/** One override, the same wherever it was written; several different ones are ambiguous. */
export function chooseOverride(values: readonly string[]): string | CustosError {
  const set = new Set(values.map((v) => v.trim().toUpperCase()));
  if (set.size !== 1) return new CustosError("protocol.malformed", "conflicting method overrides");
  const [m] = set as unknown as [string];
  if (!TOKEN.test(m)) return new CustosError("protocol.malformed", "the method override is not a method");
  return m;
}

/** The command for a prepared request (without its body, which the caller adds when it reads one). */
export function commandFor(r: UpstreamRequest): { command: Command; http: HttpRequestInfo } {
  const http: HttpRequestInfo = {
    method: r.method,
    path: r.path,
    query: r.query,
    // Read before the credential is injected, as the policy must see the request (headers.ts).
    headers: r.policyHeaders,
  };
  const command: Command = {
    protocol: "http",
    text: `${r.method} ${r.path}${r.search}`,
    keyword: r.method.toLowerCase(),
    http,
    shape: shapeOf(http),
  };
  return { command, http };
}

/**
 * The decision cache key: everything the policy input holds about the request. Long ones (bodies) are
 * digested with SHA-256, never a fast non-cryptographic hash: a crafted collision would reuse an allow.
 */
export function shapeOf(http: HttpRequestInfo): string {
  const s = JSON.stringify(http);
  return s.length <= 512 ? s : `sha256:${new Bun.CryptoHasher("sha256").update(s).digest("hex")}`;
}
