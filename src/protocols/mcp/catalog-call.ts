// resources/read and prompts/get at the front door, narrated: map the front-door name back to its
// connection and upstream name (an unknown one is a protocol error), check the arguments' shape, record
// the request in the MCP session's transcript, hand it to the connection's session (upstream-read.ts,
// which decides), and record the outcome as an `mcp.resource_read` or `mcp.prompt_get` event (F4).
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { nowMicros } from "../../core/clock.ts";
import type { GatewaySession } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { parseFrontUri } from "./resource-uri.ts";
import type { CallExtra } from "./tool-call.ts";
import { withoutSecrets } from "./transcript.ts";
import { type ReadOutcome, readUpstream } from "./upstream-read.ts";
import type { OfferedCatalog, UpstreamConnection } from "./upstream-session.ts";
import { RESOURCE_NOT_FOUND } from "./wire-error.ts";

export interface CatalogContext {
  session: GatewaySession<null>;
  catalog: OfferedCatalog;
  upstream(connection: string): UpstreamConnection | undefined;
  masking: MaskingEngine;
  nextSeq(): number;
}

const MAX_URI = 2048;
const MAX_PROMPT_ARGS = 64;
const MAX_PROMPT_ARG = 64 << 10;

export async function readResource(
  ctx: CatalogContext,
  uri: string,
  extra: CallExtra,
): Promise<Record<string, unknown>> {
  const target = uri.length <= MAX_URI ? parseFrontUri(uri) : null;
  const conn = target ? ctx.upstream(target.connection) : undefined;
  const finish = track(ctx, "mcp.resource_read", { uri: uri.slice(0, MAX_URI) }, target?.connection);
  if (!target || !conn) {
    finish({ status: "refused", message: "unknown resource" });
    throw new McpError(
      RESOURCE_NOT_FOUND,
      "resource not found: resources/list names the resources this identity may read",
      { uri: uri.slice(0, MAX_URI) },
    );
  }
  return readUpstream(
    conn,
    ctx.masking,
    { method: "resources/read", connection: target.connection, uri: target.uri },
    null,
    extra,
    finish,
  );
}

export async function getPrompt(
  ctx: CatalogContext,
  name: string,
  rawArgs: unknown,
  extra: CallExtra,
): Promise<Record<string, unknown>> {
  const target = ctx.catalog.promptTargets.get(name);
  const conn = target ? ctx.upstream(target.connection) : undefined;
  const args = promptArguments(rawArgs);
  const finish = track(
    ctx,
    "mcp.prompt_get",
    { prompt: name.slice(0, 200), arguments: withoutSecrets(args ?? {}) },
    target?.connection,
  );
  if (!target || !conn) {
    finish({ status: "refused", message: "unknown prompt" });
    throw new McpError(
      ErrorCode.InvalidParams,
      `unknown prompt "${name.slice(0, 200)}": prompts/list names the prompts this identity may use`,
    );
  }
  if (!args) {
    finish({ status: "refused", message: "arguments must be an object of strings" });
    throw new McpError(
      ErrorCode.InvalidParams,
      `${name}: arguments must be an object of at most ${MAX_PROMPT_ARGS} strings`,
    );
  }
  return readUpstream(
    conn,
    ctx.masking,
    { method: "prompts/get", connection: target.connection, prompt: target.prompt, arguments: args },
    target.hiddenBy ?? null,
    extra,
    finish,
  );
}

/** MCP 2025-11-25 server/prompts: arguments are a map of strings. Anything else is refused. */
function promptArguments(raw: unknown): Record<string, string> | null {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) return null;
  const entries = Object.entries(raw);
  if (entries.length > MAX_PROMPT_ARGS) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of entries) {
    if (typeof v !== "string" || v.length > MAX_PROMPT_ARG) return null;
    out[k] = v;
  }
  return out;
}

/** Records the request in the front-door transcript now and returns what records its outcome. */
function track(
  ctx: CatalogContext,
  type: "mcp.resource_read" | "mcp.prompt_get",
  request: Record<string, unknown>,
  connection: string | undefined,
): (outcome: ReadOutcome) => void {
  const seq = ctx.nextSeq();
  const started = nowMicros();
  ctx.session.record({ t: started, dir: "client", kind: type, data: { seq, ...request } });
  return (outcome) => {
    ctx.session.record({ t: nowMicros(), dir: "server", kind: `${type} result`, data: { seq, ...outcome } });
    ctx.session.event(type, {
      seq,
      ...request,
      ...(connection ? { connection } : {}),
      duration_us: nowMicros() - started,
      ...outcome,
    });
  };
}
