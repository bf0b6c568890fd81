// The base of every link the gateway hands out (approval hints, webhook payloads): listen.public_url when
// set, else derived from listen.http. A wildcard listen address is no place anyone can go, so it becomes
// localhost, with a warning that links need listen.public_url.
import type { HostPort } from "./listen-address.ts";

export interface PublicBase {
  /** Absolute URL without trailing slash, e.g. https://custos.bank.example or http://10.0.0.5:8080. */
  url: string;
  /** Set when the URL is a guess an approver elsewhere cannot use; log it once at start. */
  warning: string | null;
}

/** tls: whether the HTTP listener itself serves TLS (decides the derived scheme). */
export function publicBase(
  listen: { http: HostPort; publicUrl: string | null },
  opts: { tls: boolean },
): PublicBase {
  if (listen.publicUrl !== null) return { url: listen.publicUrl, warning: null };
  const scheme = opts.tls ? "https" : "http";
  const { host, port } = listen.http;
  if (isWildcard(host)) {
    return {
      url: `${scheme}://localhost:${port}`,
      warning: `listen.http is the wildcard address "${host}": links to approvals say localhost:${port}; set listen.public_url to the address approvers reach`,
    };
  }
  return { url: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`, warning: null };
}

/** 0.0.0.0, the empty host, and every spelling of the IPv6 unspecified address (::, 0:0::0, …). */
function isWildcard(host: string): boolean {
  if (host === "" || host === "0.0.0.0") return true;
  return host.includes(":") && /^[0:]+$/.test(host);
}
