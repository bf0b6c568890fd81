// The HTTP client the approval commands share: they talk to a running gateway's /api with the caller's
// token, so decisions are checked and audited by the gateway, never by the CLI.
import { gatewayAddressFromConfig } from "../config/gateway-address.ts";
import { CliError } from "./command.ts";

export const CLIENT_FLAGS = {
  gateway: "string",
  config: "string",
  token: "string",
  json: "boolean",
} as const;

export const CLIENT_USAGE = `  --gateway URL    the gateway's HTTP address (default: listen.public_url, else listen.http, of --config;
                   else $CUSTOS_GATEWAY, else http://127.0.0.1:8080)
  --config FILE    read the gateway address from this config (only its listen block; no secrets needed)
  --token T        your identity token (default: $CUSTOS_TOKEN)
  --json           print the raw JSON answer`;

export interface ApiClient {
  call(method: "GET" | "POST", path: string, body?: unknown): Promise<Record<string, unknown>>;
}

/**
 * One request to a running gateway, answered in JSON; an unreachable gateway (named as `shownAs`), an
 * answer without JSON, or an error status is a CliError carrying the gateway's own message and code.
 */
export async function gatewayJson(
  url: string,
  init: RequestInit,
  shownAs = url,
): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    throw new CliError(`cannot reach the gateway at ${shownAs}: ${(err as Error).message}`);
  }
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new CliError(`the gateway answered ${res.status} without JSON`);
  }
  if (!res.ok) {
    const e = (json.error ?? {}) as { code?: string; message?: string };
    throw new CliError(`${e.message ?? `HTTP ${res.status}`}${e.code ? ` (${e.code})` : ""}`);
  }
  return json;
}

export function apiClient(flags: Record<string, string | boolean | undefined>): ApiClient {
  const base = gatewayBase(flags);
  const token = typeof flags.token === "string" ? flags.token : process.env.CUSTOS_TOKEN;
  if (!token) throw new CliError("needs --token T (or CUSTOS_TOKEN)", 2);
  return {
    call: (method, path, body) =>
      gatewayJson(
        `${base}/api${path}`,
        {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { "content-type": "application/json" } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        },
        base,
      ),
  };
}

export function gatewayBase(flags: Record<string, string | boolean | undefined>): string {
  if (typeof flags.gateway === "string") return flags.gateway.replace(/\/+$/, "");
  // Only listen.http / listen.public_url are read: an approver's copy of the config needs no secrets.
  if (typeof flags.config === "string") return gatewayAddressFromConfig(flags.config);
  return (process.env.CUSTOS_GATEWAY ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
}

const iso = (ms: unknown) => (typeof ms === "number" ? new Date(ms).toISOString() : "-");

/** One request, readably. */
export function describeRequest(r: Record<string, unknown>): string {
  const requester = r.requester as { subject?: string } | undefined;
  const statement = r.statement as { text?: string; params?: unknown } | null;
  const decisions = (r.decisions as Record<string, unknown>[] | undefined) ?? [];
  const lines = [
    `request     ${r.id} (${r.kind}) ${r.status}`,
    `connection  ${r.connection}, requested by ${requester?.subject ?? "-"} at ${iso(r.created_at)}`,
    statement
      ? `statement   ${statement.text}${statement.params ? `  params ${JSON.stringify(statement.params)}` : ""}`
      : `reason      ${r.reason} (for ${Math.round(Number(r.duration_ms) / 60_000)} min)`,
  ];
  if (r.grant_expires_at) lines.push(`grant until ${iso(r.grant_expires_at)}`);
  for (const d of decisions) lines.push(`  ${d.verdict} by ${d.approver} at ${iso(d.time)}: ${d.reason}`);
  return lines.join("\n");
}
