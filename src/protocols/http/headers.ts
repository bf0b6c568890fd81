// Header handling for the relay. Hop-by-hop fields (RFC 9110 §7.6.1: Connection and every field it names,
// plus the classic list) describe one connection and are never forwarded. Credentials the client sent to
// Custos (Authorization, Proxy-Authorization) are never forwarded either. Secret-bearing fields are kept
// out of the policy input and the recording.

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

export function isSecretHeader(name: string, extra?: string): boolean {
  return SECRET.has(name) || name === extra || /(^|-)(token|secret|password|signature)($|-)/.test(name);
}

/** Names listed in Connection (RFC 9110 §7.6.1), lower-cased. */
function connectionTokens(headers: Headers): Set<string> | null {
  const value = headers.get("connection");
  if (!value) return null;
  return new Set(
    value
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * Headers to send upstream: hop-by-hop and client credentials removed, Host left to fetch (it sets the
 * upstream's), Via appended (RFC 9110 §7.6.3). `keepUpgrade` keeps nothing extra: WebSocket handshakes
 * are rebuilt by the WebSocket client.
 */
export function forwardRequestHeaders(incoming: Headers): Headers {
  const named = connectionTokens(incoming);
  const out = new Headers();
  for (const [name, value] of incoming) {
    if (HOP_BY_HOP.has(name) || CLIENT_CREDENTIALS.has(name) || name === "host") continue;
    if (named?.has(name)) continue;
    out.append(name, value);
  }
  const via = incoming.get("via");
  out.set("via", via ? `${via}, 1.1 custos` : "1.1 custos");
  return out;
}

/** Response headers for the client: hop-by-hop removed; content-length dropped when the body changes. */
export function forwardResponseHeaders(upstream: Headers, bodyRewritten: boolean): Headers {
  const named = connectionTokens(upstream);
  const out = new Headers();
  for (const [name, value] of upstream) {
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    if (bodyRewritten && (name === "content-length" || name === "content-encoding" || name === "etag"))
      continue;
    out.append(name, value);
  }
  // Headers iteration joins Set-Cookie; keep each one separate.
  const cookies = upstream.getSetCookie();
  if (cookies.length > 1) {
    out.delete("set-cookie");
    for (const c of cookies) out.append("set-cookie", c);
  }
  return out;
}

/** Headers as the policy sees them: secrets and per-request noise removed, names lower-cased. */
export function policyHeaders(headers: Headers, injected?: string): Record<string, string> {
  const out: Record<string, string> = {};
  const named = connectionTokens(headers);
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name) || named?.has(name) || VOLATILE.has(name) || isSecretHeader(name, injected))
      continue;
    out[name] = value;
  }
  return out;
}

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
