// One MCP session: the gateway's front-door session (its own session.start, transcript and session.end in
// the audit log), the SDK server and Streamable HTTP transport that speak MCP for it, the tools its identity
// was offered when it initialised, and the loopback clients its calls run through. The MCP session id is
// the audit session id, so an examiner finds one from the other.
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import type { GatewaySession, SessionStats } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { AwsCaller } from "./aws-tool.ts";
import { type CatalogContext, getPrompt, readResource } from "./catalog-call.ts";
import { SqlClients } from "./sql-tool.ts";
import { runExec } from "./ssh-tool.ts";
import { type CallExtra, callTool } from "./tool-call.ts";
import { definitionOf, type ToolEntry } from "./tools.ts";
import { closeUpstreams, type OfferedCatalog, type UpstreamConnection } from "./upstream-session.ts";

export interface McpSessionOptions {
  session: GatewaySession<null>;
  /** The `type: mcp` connections opened for this session (their tools are in `tools`). */
  upstreams: Map<string, UpstreamConnection>;
  /** Their resources, templates and prompts, as filtered by policy when the session opened. */
  catalog: OfferedCatalog;
  masking: MaskingEngine;
  credential: string;
  tools: Map<string, ToolEntry>;
  endpoints(): { postgres: number; http: number; protocols: Readonly<Record<string, number>> };
  /** The gateway's data_dir (its own SSH host key, which `<conn>__exec` checks on loopback). */
  dataDir: string;
  maxBody: number;
  version: string;
}

export class McpSession {
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly session: GatewaySession<null>;
  readonly credential: string;
  lastUsed = Date.now();
  private readonly startedAt = Date.now();
  inflight = 0;
  private readonly server: Server;
  private readonly sqlClients = new Map<string, SqlClients>();
  private readonly aws: AwsCaller;
  private readonly closing = new AbortController();
  private readonly stats: SessionStats = { bytesFromClient: 0, bytesToClient: 0, commands: 0 };
  private seq = 0;
  private closed = false;

  constructor(private readonly opts: McpSessionOptions) {
    this.session = opts.session;
    this.credential = opts.credential;
    this.aws = new AwsCaller(
      () => ({ http: opts.endpoints().http, aws: opts.endpoints().protocols.aws }),
      opts.credential,
    );
    this.server = new Server(
      { name: "custos", version: opts.version },
      {
        // No subscriptions, no list-change notifications: nothing is sent that the client did not ask for.
        capabilities: {
          tools: { listChanged: false },
          resources: { subscribe: false, listChanged: false },
          prompts: { listChanged: false },
        },
        instructions:
          "Custos offers one tool per connection you may use. Every call is decided by policy, regulated " +
          "values come back masked, writes may wait for a human approval, and everything is recorded.",
      },
    );
    const definitions = [...opts.tools.values()].filter((t) => !t.hiddenBy).map(definitionOf);
    this.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: definitions }));
    const catalog: CatalogContext = {
      session: this.session,
      catalog: opts.catalog,
      upstream: (c) => opts.upstreams.get(c),
      masking: opts.masking,
      nextSeq: () => this.seq++,
    };
    this.server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: opts.catalog.resources }));
    this.server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
      resourceTemplates: opts.catalog.templates,
    }));
    this.server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: opts.catalog.prompts }));
    this.server.setRequestHandler(ReadResourceRequestSchema, (request, extra) =>
      this.counted(() => readResource(catalog, request.params.uri, callExtra(request.params, extra))),
    );
    this.server.setRequestHandler(GetPromptRequestSchema, (request, extra) =>
      this.counted(() =>
        getPrompt(catalog, request.params.name, request.params.arguments, callExtra(request.params, extra)),
      ),
    );
    this.server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
      this.stats.commands++;
      this.inflight++;
      return callTool(
        {
          session: this.session,
          tools: opts.tools,
          sql: (c) => this.sql(c),
          aws: this.aws,
          exec: (c, args, held, signal) => {
            const port = opts.endpoints().protocols.ssh;
            if (!port)
              return Promise.resolve({ ok: false as const, error: "the SSH listener is not running" });
            return runExec(
              { port, credential: this.credential, dataDir: opts.dataDir },
              c,
              args,
              held,
              signal,
            );
          },
          httpPort: () => opts.endpoints().http,
          upstream: (c) => opts.upstreams.get(c),
          masking: opts.masking,
          credential: this.credential,
          closing: this.closing.signal,
          nextSeq: () => this.seq++,
          count: (from, to) => {
            this.stats.bytesFromClient += from;
            this.stats.bytesToClient += to;
          },
        },
        request.params.name,
        request.params.arguments,
        callExtra(request.params, extra),
      ).finally(() => {
        this.inflight--;
        this.lastUsed = Date.now();
      });
    });
    this.transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => this.session.id,
      enableJsonResponse: false,
      maxRequestBodySize: opts.maxBody,
    });
  }

  /** One request counted as a command, in flight until it settles (so the idle sweep leaves it alone). */
  private counted<T>(run: () => Promise<T>): Promise<T> {
    this.stats.commands++;
    this.inflight++;
    return run().finally(() => {
      this.inflight--;
      this.lastUsed = Date.now();
    });
  }

  async connect(): Promise<void> {
    await this.server.connect(this.transport);
  }

  /** Past its identity's expiry, the session's absolute limit, or its idle limit. */
  expired(now: number): string | null {
    if (now >= this.session.identity.expiresAt) return "expired";
    if (now - this.startedAt >= this.session.limits.maxSessionMs) return "max_duration";
    if (this.inflight === 0 && now - this.lastUsed >= this.session.limits.idleTimeoutMs) return "idle";
    return null;
  }

  private sql(connection: string): SqlClients {
    let clients = this.sqlClients.get(connection);
    if (!clients) {
      clients = new SqlClients(connection, {
        port: this.opts.endpoints().postgres,
        credential: this.credential,
        applicationName: `custos-mcp ${this.session.id}`,
      });
      this.sqlClients.set(connection, clients);
    }
    return clients;
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The SQL clients are marked closed before the abort reaches their statements (sql-tool.ts close()).
    const ending = [...this.sqlClients.values()].map((c) => c.close());
    this.closing.abort();
    await Promise.all([...ending, closeUpstreams(this.opts.upstreams, reason)]);
    await this.server.close().catch(() => undefined);
    await this.session.close(reason, this.stats);
  }
}

type HandlerExtra = {
  signal: AbortSignal;
  sendNotification(n: { method: "notifications/progress"; params: Record<string, unknown> }): Promise<void>;
};

function callExtra(params: { _meta?: { progressToken?: string | number } }, extra: HandlerExtra): CallExtra {
  const progressToken = params._meta?.progressToken;
  return {
    signal: extra.signal,
    ...(progressToken !== undefined ? { progressToken } : {}),
    progress: (token, progress, message) =>
      extra.sendNotification({
        method: "notifications/progress",
        params: { progressToken: token, progress, message },
      }),
  };
}
