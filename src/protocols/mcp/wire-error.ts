// The one place where gateway errors become MCP front-door responses: a JSON-RPC 2.0 error object in an
// HTTP response whose status says the same (Streamable HTTP, MCP 2025-11-25 basic/transports), and for a
// missing or refused token the RFC 6750 challenge pointing at the RFC 9728 metadata.
import type { CustosError } from "../../core/errors.ts";
import { statusFor } from "../http/wire-error.ts";

// JSON-RPC 2.0 §5.1 error codes.
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
// Implementation-defined server errors (-32000 to -32099): a gateway refusal before MCP itself.
export const GATEWAY_REFUSED = -32001;

export function jsonRpcError(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
  data?: Record<string, unknown>,
): Response {
  const body = { jsonrpc: "2.0", error: { code, message, ...(data ? { data } : {}) }, id: null };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  });
}

/** A refusal by the gateway (identity, access, caps, audit store), in the client's terms. */
export function refusal(err: CustosError, metadataUrl: string): Response {
  const status = statusFor(err.code);
  const headers: Record<string, string> = {};
  if (status === 401) {
    // RFC 9728 §5.1: the challenge names where the protected-resource metadata lives.
    const invalid = err.code === "identity.missing" ? "" : ', error="invalid_token"';
    headers["www-authenticate"] = `Bearer resource_metadata="${metadataUrl}"${invalid}`;
  }
  return jsonRpcError(status, GATEWAY_REFUSED, err.message, headers, { code: err.code });
}

// MCP 2025-11-25 server/resources §error-handling: a resource that does not exist.
export const RESOURCE_NOT_FOUND = -32002;
// A resources/read or prompts/get the policy refused (data.rule names the rule), and one the upstream
// failed or could not be masked: server errors of this gateway (JSON-RPC 2.0 §5.1, -32000 to -32099).
export const POLICY_DENIED = -32003;
export const UPSTREAM_FAILED = -32004;
