// The tools an identity is offered: one per connection it may open, named `<conn>__<verb>` (the verb says
// the protocol: query for PostgreSQL, request for HTTP, exec for SSH, call for AWS). Pure: the list is computed from the connections
// the pipeline says the identity may use, and a tool name maps back to exactly one of them, or to nothing.
import type { Decision } from "../../core/decision.ts";
import type { UsableConnection } from "../../core/session.ts";
import type { UpstreamTool } from "./upstream.ts";

export type ToolKind = "query" | "request" | "exec" | "call" | "upstream";

export interface ToolEntry {
  name: string;
  kind: ToolKind;
  connection: string;
  /** An upstream MCP server's tool, as it described itself (kind "upstream"). */
  upstream?: UpstreamTool;
  /** An upstream tool the policy refused to list: not in tools/list; a call is refused with this decision. */
  hiddenBy?: Decision;
}

/** The MCP Tool object as tools/list returns it (2025-11-25 schema: name, description, inputSchema). */
export interface ToolDefinition {
  name: string;
  title: string;
  description: string;
  inputSchema: Record<string, unknown> & { type: "object" };
  annotations?: Record<string, unknown>;
}

// Bounds on what one call may ask for and return (ENFORCEMENT.md 7): rows and bytes of a result.
export const MAX_ROWS = 1000;
export const DEFAULT_ROWS = 200;
export const MAX_RESULT_BYTES = 1 << 20;

const VERB: Record<string, ToolKind> = { postgres: "query", http: "request", ssh: "exec", aws: "call" };

/** The tools for these connections; connections of other types are not offered (yet). */
export function toolsFor(connections: readonly UsableConnection[]): Map<string, ToolEntry> {
  const tools = new Map<string, ToolEntry>();
  for (const c of connections) {
    const kind = VERB[c.type];
    if (!kind) continue;
    const name = `${c.name}__${kind}`;
    tools.set(name, { name, kind, connection: c.name });
  }
  return tools;
}

export function definitionOf(tool: ToolEntry): ToolDefinition {
  if (tool.kind === "upstream" && tool.upstream) {
    const u = tool.upstream;
    return {
      name: tool.name,
      title: `${u.title ?? u.name} (${tool.connection})`,
      description:
        `${u.description ?? ""}\n\nServed by the MCP connection "${tool.connection}" through Custos: each call is decided by policy, its result masked and recorded.`.trim(),
      inputSchema: u.inputSchema,
      ...(u.annotations ? { annotations: u.annotations } : {}),
    };
  }
  if (tool.kind === "query") return queryTool(tool);
  if (tool.kind === "exec") return execTool(tool);
  if (tool.kind === "call") return awsTool(tool);
  return requestTool(tool);
}

function queryTool(tool: ToolEntry): ToolDefinition {
  return {
    name: tool.name,
    title: `SQL on ${tool.connection}`,
    description:
      `Runs one SQL statement on the PostgreSQL connection "${tool.connection}" through Custos: the statement ` +
      "is decided by policy, regulated values come back masked, writes may be held for a human approval, " +
      `and everything is recorded. Use $1, $2… with "params" for values. At most ${MAX_ROWS} rows are returned.`,
    inputSchema: {
      type: "object",
      properties: {
        sql: { type: "string", description: "One SQL statement." },
        params: {
          type: "array",
          description: "Values for $1, $2… (strings, numbers, booleans or null).",
          items: { type: ["string", "number", "boolean", "null"] },
          maxItems: 1000,
        },
        max_rows: {
          type: "integer",
          minimum: 1,
          maximum: MAX_ROWS,
          description: `Rows to return (default ${DEFAULT_ROWS}).`,
        },
      },
      required: ["sql"],
      additionalProperties: false,
    },
  };
}

function execTool(tool: ToolEntry): ToolDefinition {
  return {
    name: tool.name,
    title: `Command on ${tool.connection}`,
    description:
      `Runs one command on the SSH connection "${tool.connection}" through Custos (an exec, no terminal): ` +
      "the command is decided by policy, regulated values in its output come back masked, it may be held " +
      `for a human approval, and everything is recorded. At most ${MAX_RESULT_BYTES} bytes of output.`,
    inputSchema: {
      type: "object",
      properties: {
        command: { type: "string", description: "The command line, as ssh host 'command' would send it." },
        stdin: { type: "string", description: "Text for the command's standard input (then closed)." },
      },
      required: ["command"],
      additionalProperties: false,
    },
  };
}

function awsTool(tool: ToolEntry): ToolDefinition {
  return {
    name: tool.name,
    title: `AWS on ${tool.connection}`,
    description:
      `Makes one AWS API call on the connection "${tool.connection}" through Custos, signed with credentials ` +
      "minted for you: the operation is decided by policy, regulated values in the response come back " +
      "masked, it may be held for a human approval, and everything is recorded. Give the service's signing " +
      "name, the HTTP method, path and query as the service's API defines them (S3: /bucket/key; JSON " +
      "services: POST / with the x-amz-target header and a JSON body).",
    inputSchema: {
      type: "object",
      properties: {
        service: { type: "string", description: "Signing name: s3, dynamodb, sqs, sts…" },
        region: { type: "string", description: "The connection's region (default us-east-1)." },
        method: { type: "string", enum: [...METHODS], description: "Default GET." },
        path: { type: "string", description: "Default /. Unreserved characters, / and %XX only." },
        query: {
          type: "object",
          additionalProperties: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
        },
        headers: {
          type: "object",
          description: "Only content-type and x-amz-target.",
          additionalProperties: { type: "string" },
        },
        body: { type: "string", description: "The request body as text." },
      },
      required: ["service"],
      additionalProperties: false,
    },
  };
}

function requestTool(tool: ToolEntry): ToolDefinition {
  return {
    name: tool.name,
    title: `HTTP on ${tool.connection}`,
    description:
      `Sends one HTTP request to the connection "${tool.connection}" through Custos: the request is decided ` +
      "by policy, regulated values in the response come back masked, and everything is recorded. The path " +
      "is relative to the connection's base URL.",
    inputSchema: {
      type: "object",
      properties: {
        method: { type: "string", enum: [...METHODS], description: "Default GET." },
        path: { type: "string", description: "Path below the connection, starting with /." },
        query: {
          type: "object",
          description: "Query parameters; an array repeats the name.",
          additionalProperties: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
        },
        body: { description: "A JSON request body (sent as application/json)." },
      },
      required: ["path"],
      additionalProperties: false,
    },
  };
}

export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;
