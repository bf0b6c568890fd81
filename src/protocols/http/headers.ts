// Header handling for the relay. Hop-by-hop fields (RFC 9110 §7.6.1: Connection and every field it names,
// plus the classic list) describe one connection and are never forwarded. Credentials the client sent to
// Custos (Authorization, Proxy-Authorization) are never forwarded either. Secret-bearing fields are kept
// out of the policy input and the recording. Towards the upstream, request fields pass an allow-list.

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Client credentials for Custos: consumed here, never forwarded. */
const CLIENT_CREDENTIALS = new Set(["authorization", "proxy-authorization"]);

/** Fields whose values are credentials or session secrets: never in the policy input or a recording. */
const SECRET = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
  "x-auth-token",
  "x-access-token",
  "x-csrf-token",
  "x-xsrf-token",
  "x-amz-security-token",
  "private-token",
]);

/** Per-request noise kept out of the policy input so decisions cache (still recorded). */
const VOLATILE = new Set([
  "content-length",
  "traceparent",
  "tracestate",
  "x-request-id",
  "x-correlation-id",
  "date",
  "if-none-match",
  "if-modified-since",
]);

const SECRET_WORD = /(^|-)(token|secret|password|signature)($|-)/;
/** The word test per field name: requests repeat the same few names, and each is asked 3–4 times. */
const secretWordCache = new Map<string, boolean>();

export function isSecretHeader(name: string, extra?: string): boolean {
  if (SECRET.has(name) || name === extra) return true;
  let secret = secretWordCache.get(name);
  if (secret === undefined) {
    secret = SECRET_WORD.test(name);
    // Bounded: field names are the client's choice.
    if (secretWordCache.size >= 1024) secretWordCache.clear();
    secretWordCache.set(name, secret);
  }
  return secret;
}

/** Names listed in Connection (RFC 9110 §7.6.1), lower-cased; usually one ("keep-alive"), so a list. */
function connectionTokens(headers: Headers): string[] | null {
  const value = headers.get("connection");
  if (!value) return null;
  const out: string[] = [];
  for (const t of value.toLowerCase().split(",")) {
    const name = t.trim();
    if (name) out.push(name);
  }
  return out;
}

/**
 * Request fields forwarded by default (ENFORCEMENT §4, an allow-list): content negotiation (RFC 9110
 * §12.5), the body's type, length and language, conditionals and ranges (§13, §14), caching directives,
 * the user agent and trace context. Everything else the client sends stays at the gateway unless the
 * connection's `forward_headers` names it; Cookie only with `forward_cookies`.
 */
const STANDARD = new Set([
  "accept",
  "accept-charset",
  "accept-encoding",
  "accept-language",
  "content-type",
  "content-length",
  "content-language",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "if-range",
  "range",
  "cache-control",
  "pragma",
  "user-agent",
  "traceparent",
  "tracestate",
]);

/** The method-override family (Rails, Laravel, Express method-override, ASP.NET, Google APIs). */
export const METHOD_OVERRIDE_HEADERS = ["x-http-method-override", "x-http-method", "x-method-override"];

export interface ForwardPolicy {
  forwardHeaders: readonly string[];
  forwardCookies: boolean;
}

/** Where the request came from, as the gateway saw it: the only source of X-Forwarded-For/Forwarded. */
export interface ClientOrigin {
  /** Address without port (IPv6 without brackets). */
  ip: string;
  proto: "http" | "https";
}

/** A client request's fields, read in one pass: what goes upstream, what the policy sees, what is recorded. */
export interface RequestHeaders {
  /** Sent upstream (before the credential is injected): forwardRequestHeaders. */
  forward: Headers;
  /** policyHeaders(forward, injected), without a second pass. */
  policy: Record<string, string>;
  /** recordedHeaders(incoming, injected): every field the client sent, secret values replaced. */
  recorded: Record<string, string>;
}

/**
 * Headers to send upstream: the allow-list above, plus the connection's own list; Host left to fetch
 * (it sets the upstream's); Via (RFC 9110 §7.6.3), X-Forwarded-For, X-Forwarded-Proto and Forwarded
 * (RFC 7239) written from the real client address, never copied from the client.
 */
export function forwardRequestHeaders(
  incoming: Headers,
  policy: ForwardPolicy,
  origin: ClientOrigin | null,
): Headers {
  return readRequestHeaders(incoming, policy, origin).forward;
}

/** forwardRequestHeaders, policyHeaders and recordedHeaders of one request, in one pass over its fields. */
export function readRequestHeaders(
  incoming: Headers,
  policy: ForwardPolicy,
  origin: ClientOrigin | null,
  injected?: string,
): RequestHeaders {
  const named = connectionTokens(incoming);
  const forward = new Headers();
  const seen: Record<string, string> = {};
  const recorded: Record<string, string> = {};
  for (const [name, value] of incoming) {
    const secret = isSecretHeader(name, injected);
    recorded[name] = secret ? "[redacted]" : value;
    if (HOP_BY_HOP.has(name) || CLIENT_CREDENTIALS.has(name) || named?.includes(name)) continue;
    const allowed =
      STANDARD.has(name) ||
      policy.forwardHeaders.includes(name) ||
      (name === "cookie" && policy.forwardCookies);
    if (!allowed) continue;
    forward.append(name, value);
    if (!VOLATILE.has(name) && !secret && !GATEWAY_WRITTEN.has(name)) seen[name] = value;
  }
  // The gateway's own fields replace any the connection let through from the client; otherwise they are
  // new, and appending them skips set()'s search.
  const put = policy.forwardHeaders.some((h) => GATEWAY_WRITTEN.has(h))
    ? (n: string, v: string) => forward.set(n, v)
    : (n: string, v: string) => forward.append(n, v);
  put("via", "1.1 custos");
  if (origin) {
    put("x-forwarded-for", origin.ip);
    put("x-forwarded-proto", origin.proto);
    // RFC 7239 §6: an IPv6 node is quoted and bracketed.
    const node = origin.ip.includes(":") ? `"[${origin.ip}]"` : origin.ip;
    put("forwarded", `for=${node};proto=${origin.proto}`);
  }
  return { forward, policy: seen, recorded };
}

const HOP_BY_HOP_NAMES = [...HOP_BY_HOP];

/**
 * Response headers for the client: hop-by-hop removed; content-length dropped when the body changes.
 * A native copy (each Set-Cookie kept separate) with the few removals, rather than a field-by-field
 * rebuild in JS: the copy costs a seventh of it (bench/RESULTS.md, issue 23).
 */
export function forwardResponseHeaders(upstream: Headers, bodyRewritten: boolean): Headers {
  const out = new Headers(upstream);
  const named = connectionTokens(upstream);
  for (const name of HOP_BY_HOP_NAMES) if (out.has(name)) out.delete(name);
  if (named) for (const name of named) out.delete(name);
  if (bodyRewritten) {
    out.delete("content-length");
    out.delete("content-encoding");
    out.delete("etag");
  }
  return out;
}

/**
 * Headers as the policy sees them: the ones forwarded from the client (so a rule reads what the upstream
 * will), secrets and per-request noise removed, names lower-cased.
 */
export function policyHeaders(forwarded: Headers, injected?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of forwarded) {
    if (VOLATILE.has(name) || isSecretHeader(name, injected) || GATEWAY_WRITTEN.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Written by the gateway itself, from facts the policy input already holds (session.client_addr). */
const GATEWAY_WRITTEN = new Set(["via", "x-forwarded-for", "x-forwarded-proto", "forwarded"]);

/** Headers as recorded: every field kept, secret values replaced. */
export function recordedHeaders(headers: Headers, injected?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) out[name] = isSecretHeader(name, injected) ? "[redacted]" : value;
  return out;
}

/** The bearer token from Authorization or Proxy-Authorization (RFC 6750 §2.1); null when absent. */
export function bearerToken(headers: Headers): string | null | "malformed" {
  // Proxy-Authorization is addressed to the proxy, so it wins when a client sends both.
  const value = headers.get("proxy-authorization") ?? headers.get("authorization");
  if (value === null) return null;
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(value);
  return m ? m[1]! : "malformed";
}
