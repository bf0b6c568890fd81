// Resolves a `type: mcp` connection: its secrets read from the environment once, at load, into Secret values.
import type { z } from "zod";
import type { mcpConnectionSchema } from "./mcp-schema.ts";
import type { ProtocolLoadContext } from "./protocol-configs.ts";
import type { Secret } from "./secret.ts";
import type { ProtocolConnectionConfig } from "./types.ts";

export type McpTarget =
  | { kind: "http"; url: string; bearer: Secret | null; headers: Record<string, Secret>; timeoutMs: number }
  | {
      kind: "stdio";
      command: string[];
      env: Record<string, Secret>;
      cwd: string | null;
      timeoutMs: number;
      maxMessage: number;
    };

export function resolveMcpConnection(
  raw: z.output<typeof mcpConnectionSchema>,
  at: string,
  ctx: ProtocolLoadContext,
): ProtocolConnectionConfig<McpTarget> {
  const t = raw.target;
  let target: McpTarget;
  if ("url" in t) {
    const headers: Record<string, Secret> = {};
    // Read when a call is made, so a command that loads the config without secrets never reveals it.
    const bearer = t.bearer_env ? ctx.fromEnv(t.bearer_env, `${at}.target.bearer_env`) : null;
    for (const [name, env] of Object.entries(t.headers_env))
      headers[name.toLowerCase()] = ctx.fromEnv(env, `${at}.target.headers_env.${name}`);
    target = { kind: "http", url: t.url, bearer, headers, timeoutMs: raw.timeout };
  } else {
    const env: Record<string, Secret> = {};
    for (const [name, from] of Object.entries(t.env_from))
      env[name] = ctx.fromEnv(from, `${at}.target.env_from.${name}`);
    target = {
      kind: "stdio",
      command: t.command,
      env,
      cwd: t.cwd ?? null,
      timeoutMs: raw.timeout,
      maxMessage: t.max_message,
    };
  }
  return {
    ...ctx.common(raw, at),
    type: "mcp",
    target,
    // Recorded in session.start (F1): what the gateway talks to, never a credential.
    targetAccount: { user: "url" in t ? "service" : "process", database: "url" in t ? t.url : t.command[0]! },
  };
}
