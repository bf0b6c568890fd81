// Which request headers reach the API server (an allow-list: the rest are dropped), which are refused
// outright (the client's own credentials and impersonation: the gateway speaks for the caller), and the
// headers the gateway adds: its own credential and Impersonate-User/Group naming the caller
// (k8s.io/apiserver pkg/authentication/request/headerrequest, impersonation filter), so the cluster's
// RBAC and audit log see the agent. Pure.
import { CustosError } from "../../core/errors.ts";

/** Forwarded as sent. */
const FORWARDED = new Set([
  "content-type",
  "user-agent",
  "kubectl-command",
  "kubectl-session",
  // Upgrades (exec, attach, port-forward): WebSocket (RFC 6455 §4.1) and SPDY's stream protocol
  // negotiation (k8s.io/streaming httpstream: X-Stream-Protocol-Version, one header per offer).
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-protocol",
  "x-stream-protocol-version",
]);

/** Refused: the caller may not speak for anyone else, nor hand the API server a credential. */
function refusedHeader(name: string): boolean {
  return name.startsWith("impersonate-") || name === "proxy-authorization" || name === "x-remote-user";
}

export interface UpstreamCredential {
  /** Bearer token for the gateway's account, or null when the TLS client certificate authenticates. */
  token: string | null;
}

export interface Caller {
  subject: string;
  groups: readonly string[];
}

/** The headers to send upstream as [name, value] pairs (repeats kept), or why the request is refused. */
export function upstreamHeaders(
  raw: readonly string[],
  credential: UpstreamCredential,
  impersonate: Caller | null,
  opts: { upgrade: boolean },
): [string, string][] | CustosError {
  const out: [string, string][] = [];
  let accept: string | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (refusedHeader(name))
      return new CustosError(
        "access.forbidden",
        `the ${raw[i]} header is refused: the gateway impersonates the caller itself`,
      );
    if (name === "accept") accept = accept === null ? value : `${accept}, ${value}`;
    else if (FORWARDED.has(name)) {
      // Connection/Upgrade only matter on an upgrade; on a plain request they are hop-by-hop.
      if (!opts.upgrade && (name === "connection" || name === "upgrade")) continue;
      out.push([name, value]);
    }
  }
  // An upgrade's answer is a 101 or a Status: its Accept is the client's (the API server answers a
  // forced application/json on exec with 406).
  if (!opts.upgrade) out.push(["accept", jsonAccept(accept)]);
  else if (accept !== null) out.push(["accept", accept]);
  // Bodies the masker reads must arrive uncompressed (the API server gzips large ones on request).
  out.push(["accept-encoding", "identity"]);
  if (credential.token !== null) out.push(["authorization", `Bearer ${credential.token}`]);
  if (impersonate) {
    out.push(["impersonate-user", headerValue(impersonate.subject)]);
    for (const g of impersonate.groups) out.push(["impersonate-group", headerValue(g)]);
  }
  return out;
}

/** A header value carries no line break or NUL (a subject is the IdP's, not ours to trust blindly). */
function headerValue(v: string): string {
  if (/[\r\n\0]/.test(v)) throw new CustosError("identity.invalid", "the identity holds a line break");
  return v;
}

/**
 * The client's Accept with every media type the masker cannot read removed (protobuf, YAML, CBOR, and
 * `application/*`, which the API server may answer in any of them): JSON (with its Table and discovery
 * parameters), text for logs, and `*` `/` `*`, which the API server answers with its default, JSON.
 */
export function jsonAccept(accept: string | null): string {
  if (accept === null) return "application/json";
  const kept = accept
    .split(",")
    .map((s) => s.trim())
    .filter((entry) => {
      const type = entry.split(";")[0]!.trim().toLowerCase();
      return type === "application/json" || type === "text/plain" || type === "*/*";
    });
  return kept.length > 0 ? kept.join(", ") : "application/json";
}

/** Response headers relayed to the client; the rest (cookies, upstream addresses) stay behind. */
export const RESPONSE_HEADERS = new Set([
  "content-type",
  "audit-id",
  "warning",
  "cache-control",
  "date",
  "x-kubernetes-pf-flowschema-uid",
  "x-kubernetes-pf-prioritylevel-uid",
  "retry-after",
]);

/** Headers of an upstream's 101 answer relayed to the client. */
export const UPGRADE_RESPONSE_HEADERS = new Set([
  "upgrade",
  "connection",
  "sec-websocket-accept",
  "sec-websocket-protocol",
  "x-stream-protocol-version",
  "date",
]);

/** `Authorization: Bearer <token>` of the caller, null when absent, "malformed" when not a bearer. */
export function bearerToken(authorization: string | undefined): string | null | "malformed" {
  if (authorization === undefined) return null;
  const m = /^Bearer +(\S+) *$/i.exec(authorization);
  return m ? m[1]! : "malformed";
}
