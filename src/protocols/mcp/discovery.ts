// OAuth 2.0 Protected Resource Metadata (RFC 9728) for /mcp: MCP clients that do OAuth (MCP 2025-11-25
// basic/authorization) find from it which authorization servers issue tokens this gateway accepts.
export interface Discovery {
  publicUrl: string;
  issuers: string[];
}

/** RFC 9728 §3.1: the metadata of resource `<base>/mcp` lives at `<base>/.well-known/oauth-protected-resource/mcp`. */
export const METADATA_PATHS = [
  "/.well-known/oauth-protected-resource",
  "/.well-known/oauth-protected-resource/mcp",
];

export function resourceUrl(d: Discovery): string {
  return `${d.publicUrl}/mcp`;
}

export function metadataUrl(d: Discovery): string {
  const u = new URL(d.publicUrl);
  return `${u.origin}/.well-known/oauth-protected-resource${u.pathname.replace(/\/$/, "")}/mcp`;
}

export function metadataResponse(d: Discovery): Response {
  const body = {
    resource: resourceUrl(d),
    authorization_servers: d.issuers,
    bearer_methods_supported: ["header"],
    resource_name: "Custos",
  };
  return new Response(JSON.stringify(body), {
    headers: { "content-type": "application/json", "cache-control": "max-age=300" },
  });
}
