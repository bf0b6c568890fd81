// An upstream MCP server (`type: mcp` connection) as one MCP session's client sees it: started or dialled
// with the gateway's own credentials for it (the caller's token never leaves the gateway), its tools listed
// once per session. One client per MCP session and connection, so no state is shared between identities.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { McpTarget } from "../../config/mcp-load.ts";
import type { Logger } from "../../core/log.ts";
import { BoundedStdioTransport } from "./stdio-transport.ts";

export interface UpstreamTool {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown> & { type: "object" };
  annotations?: Record<string, unknown>;
}

/** A resource or resource template as the upstream listed it (`uri` is the template for a template). */
export interface UpstreamResource {
  uri: string;
  name: string;
  title?: string;
  description?: string;
  mimeType?: string;
  template: boolean;
}

export interface UpstreamPrompt {
  name: string;
  title?: string;
  description?: string;
  arguments?: { name: string; description?: string; required?: boolean }[];
}

/** What resources/read returns: text or base64 blob contents (MCP 2025-11-25 server/resources). */
export interface UpstreamContents {
  contents: ({ uri: string; mimeType?: string } & ({ text: string } | { blob: string }))[];
}

/** What prompts/get returns: messages whose content is a content block like a tool result's. */
export interface UpstreamPromptResult {
  description?: string;
  messages: { role: string; content: Record<string, unknown> }[];
}

export interface UpstreamResult {
  content: Record<string, unknown>[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

// Bounds on what an upstream may hand back (ENFORCEMENT.md 7): tools, resources and prompts listed, bytes
// per HTTP response.
const MAX_TOOLS = 500;
const MAX_LISTED = 500;
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
    readonly resources: UpstreamResource[],
    readonly prompts: UpstreamPrompt[],
    private readonly timeoutMs: number,
    private readonly failure: () => string | null,
  ) {}

  /** A request's failure, named by why the gateway stopped the upstream when it did. */
  private async guard<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (err) {
      const why = this.failure();
      throw why ? new Error(why) : err;
    }
  }

  static async open(target: McpTarget, version: string, logger: Logger): Promise<Upstream> {
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
        : new BoundedStdioTransport(
            {
              command: target.command,
              // Only what the connection names, plus PATH to find the program: not the gateway's environment.
              env: {
                PATH: process.env.PATH ?? "/usr/bin:/bin",
                ...Object.fromEntries(Object.entries(target.env).map(([k, v]) => [k, v.reveal()])),
              },
              cwd: target.cwd,
              maxMessage: target.maxMessage,
              secrets: Object.values(target.env).map((v) => v.reveal()),
            },
            logger,
          );
    await client.connect(transport, { timeout: target.timeoutMs });
    const tools: UpstreamTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, { timeout: target.timeoutMs });
      for (const t of page.tools) tools.push(t as UpstreamTool);
      cursor = page.nextCursor;
    } while (cursor && tools.length < MAX_TOOLS);
    const caps = client.getServerCapabilities() ?? {};
    const opts = { timeout: target.timeoutMs };
    const resources: UpstreamResource[] = [];
    const prompts: UpstreamPrompt[] = [];
    if (caps.resources) {
      for (const r of await pages(
        (c) => client.listResources(c, opts),
        (p) => p.resources,
      ))
        resources.push({ ...describe(r), uri: r.uri, template: false });
      for (const r of await pages(
        (c) => client.listResourceTemplates(c, opts),
        (p) => p.resourceTemplates,
      ))
        resources.push({ ...describe(r), uri: r.uriTemplate, template: true });
    }
    if (caps.prompts)
      for (const p of await pages(
        (c) => client.listPrompts(c, opts),
        (x) => x.prompts,
      ))
        prompts.push({
          ...describe(p),
          ...(p.arguments ? { arguments: p.arguments.map((a) => ({ ...a })) } : {}),
        });
    return new Upstream(
      client,
      tools.slice(0, MAX_TOOLS),
      resources.slice(0, MAX_LISTED),
      prompts.slice(0, MAX_LISTED),
      target.timeoutMs,
      () => (transport instanceof BoundedStdioTransport ? transport.failure : null),
    );
  }

  async readResource(uri: string, signal: AbortSignal): Promise<UpstreamContents> {
    return (await this.guard(
      this.client.readResource({ uri }, { signal, timeout: this.timeoutMs }),
    )) as UpstreamContents;
  }

  async getPrompt(
    name: string,
    args: Record<string, string>,
    signal: AbortSignal,
  ): Promise<UpstreamPromptResult> {
    const r = await this.guard(
      this.client.getPrompt({ name, arguments: args }, { signal, timeout: this.timeoutMs }),
    );
    return r as unknown as UpstreamPromptResult;
  }

  async call(name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<UpstreamResult> {
    const r = await this.guard(
      this.client.callTool({ name, arguments: args }, undefined, { signal, timeout: this.timeoutMs }),
    );
    return r as UpstreamResult;
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}

/** Every page of one list request, up to MAX_LISTED items. */
async function pages<P extends { nextCursor?: string }, T>(
  list: (params: { cursor?: string }) => Promise<P>,
  items: (page: P) => T[],
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await list(cursor ? { cursor } : {});
    out.push(...items(page));
    cursor = page.nextCursor;
  } while (cursor && out.length < MAX_LISTED);
  return out.slice(0, MAX_LISTED);
}

/** The descriptive fields of a listed item, as plain strings (nothing else the upstream added). */
function describe(x: { name: string; title?: string; description?: string; mimeType?: string }) {
  return {
    name: x.name,
    ...(typeof x.title === "string" ? { title: x.title } : {}),
    ...(typeof x.description === "string" ? { description: x.description } : {}),
    ...(typeof x.mimeType === "string" ? { mimeType: x.mimeType } : {}),
  };
}
