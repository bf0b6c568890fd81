// An upstream MCP server (`type: mcp` connection) as one MCP session's client sees it: started or dialled
// with the gateway's own credentials for it (the caller's token never leaves the gateway), its tools listed
// once per session. One client per MCP session and connection, so no state is shared between identities.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { McpTarget } from "../../config/mcp-load.ts";

export interface UpstreamTool {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown> & { type: "object" };
  annotations?: Record<string, unknown>;
}

export interface UpstreamResult {
  content: Record<string, unknown>[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

// Bounds on what an upstream may hand back (ENFORCEMENT.md 7): tools listed, bytes per HTTP response.
const MAX_TOOLS = 500;
const MAX_RESPONSE = 16 << 20;

/** fetch whose response bodies fail past `max` bytes, so an upstream cannot make the gateway buffer without end. */
function cappedFetch(max: number) {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const res = await fetch(input, { ...init, redirect: "manual" });
    if (!res.body) return res;
    let seen = 0;
    const capped = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          seen += chunk.byteLength;
          if (seen > max) ctl.error(new Error(`the upstream sent more than ${max} bytes`));
          else ctl.enqueue(chunk);
        },
      }),
    );
    return new Response(capped, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

export class Upstream {
  private constructor(
    private readonly client: Client,
    readonly tools: UpstreamTool[],
    private readonly timeoutMs: number,
  ) {}

  static async open(target: McpTarget, version: string): Promise<Upstream> {
    const client = new Client({ name: "custos", version });
    const transport =
      target.kind === "http"
        ? new StreamableHTTPClientTransport(new URL(target.url), {
            fetch: cappedFetch(MAX_RESPONSE),
            requestInit: {
              headers: {
                ...Object.fromEntries(Object.entries(target.headers).map(([k, v]) => [k, v.reveal()])),
                ...(target.bearer ? { authorization: `Bearer ${target.bearer.reveal()}` } : {}),
              },
            },
          })
        : new StdioClientTransport({
            command: target.command[0]!,
            args: target.command.slice(1),
            // Only what the connection names, plus PATH to find the program: not the gateway's environment.
            env: {
              PATH: process.env.PATH ?? "/usr/bin:/bin",
              ...Object.fromEntries(Object.entries(target.env).map(([k, v]) => [k, v.reveal()])),
            },
            ...(target.cwd ? { cwd: target.cwd } : {}),
            stderr: "ignore",
          });
    await client.connect(transport, { timeout: target.timeoutMs });
    const tools: UpstreamTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, { timeout: target.timeoutMs });
      for (const t of page.tools) tools.push(t as UpstreamTool);
      cursor = page.nextCursor;
    } while (cursor && tools.length < MAX_TOOLS);
    return new Upstream(client, tools.slice(0, MAX_TOOLS), target.timeoutMs);
  }

  async call(name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<UpstreamResult> {
    const r = await this.client.callTool({ name, arguments: args }, undefined, {
      signal,
      timeout: this.timeoutMs,
    });
    return r as UpstreamResult;
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}
