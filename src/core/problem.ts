// One scheme for RFC 9457 problem `type` URIs, shared by the HTTP gateway and the admin API, so a client
// reads the same identifier for the same error from either: `urn:custos:error:<code>`.
export function problemType(code: string): string {
  return `urn:custos:error:${code}`;
}
