// The `type: mcp` connections of one MCP session: each opened as a gateway session of its own (identity
// checked, connection allowed, session.start), its upstream dialled or started, and its tools, resources
// and prompts offered only where the policy would not refuse them (each listed item decided). Requests to
// them are decided here, on name or URI and arguments, because MCP has no other front door that could.
import type { McpTarget } from "../../config/mcp-load.ts";
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import type { Logger } from "../../core/log.ts";
import type { Gateway, GatewaySession, SessionStats, UsableConnection } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { resultMasker } from "./mask.ts";
import { frontUri } from "./resource-uri.ts";
import type { ToolEntry } from "./tools.ts";
import { withoutSecrets } from "./transcript.ts";
import { Upstream, type UpstreamPrompt, type UpstreamResource } from "./upstream.ts";

export interface UpstreamConnection {
  session: GatewaySession<McpTarget>;
  upstream: Upstream;
  stats: SessionStats;
}

/** What resources/list, resources/templates/list and prompts/list return: every connection's, filtered. */
export interface OfferedCatalog {
  resources: Record<string, unknown>[];
  templates: Record<string, unknown>[];
  prompts: Record<string, unknown>[];
  /** Every prompt by front name (`<conn>__<prompt>`); one the policy refused to list carries that decision. */
  promptTargets: Map<string, { connection: string; prompt: string; hiddenBy?: Decision }>;
}

export interface OpenedUpstreams {
  tools: ToolEntry[];
  catalog: OfferedCatalog;
  connections: Map<string, UpstreamConnection>;
}

// The MCP methods an upstream request may be (the rest never reach an upstream: server.ts's allow-list).
export type UpstreamMethod =
  | "tools/list"
  | "tools/call"
  | "resources/list"
  | "resources/templates/list"
  | "resources/read"
  | "prompts/list"
  | "prompts/get";

/**
 * The policy's view of one MCP request to an upstream: input.command.method, .kind (tool, resource or
 * prompt), the subject (.tool, .uri or .prompt) and .arguments.
 */
export function mcpCommand(method: UpstreamMethod, subject: string, args?: unknown): Command {
  const kind = method.startsWith("tools/") ? "tool" : method.startsWith("resources/") ? "resource" : "prompt";
  const key = kind === "tool" ? "tool" : kind === "resource" ? "uri" : "prompt";
  const details = { method, kind, [key]: subject, ...(args !== undefined ? { arguments: args } : {}) };
  // The decision cache's key: everything the policy reads, as a digest once it is long.
  const full = JSON.stringify(["mcp", method, subject, args ?? null]);
  const shape =
    full.length <= 256 ? full : `sha256:${new Bun.CryptoHasher("sha256").update(full).digest("hex")}`;
  return {
    protocol: "mcp",
    // What the audit event shows: the arguments with secret-named fields removed.
    text: `${method} ${subject}${args !== undefined ? ` ${JSON.stringify(withoutSecrets(args))}` : ""}`,
    keyword: method,
    details,
    shape,
  };
}

// Names that are not plain identifiers never reach the agent: a tool or prompt name must mean one thing.
const PLAIN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const MAX_URI = 2048;

export async function openUpstreams(
  gateway: Gateway,
  masking: MaskingEngine,
  request: { clientAddr: string; credential: string; applicationName: string },
  usable: readonly UsableConnection[],
  version: string,
  logger: Logger,
): Promise<OpenedUpstreams> {
  const tools: ToolEntry[] = [];
  const catalog: OfferedCatalog = { resources: [], templates: [], prompts: [], promptTargets: new Map() };
  const connections = new Map<string, UpstreamConnection>();
  for (const c of usable) {
    if (c.type !== "mcp") continue;
    const opened = await gateway.open<McpTarget>({
      protocol: "mcp",
      clientAddr: request.clientAddr,
      credential: request.credential,
      user: "",
      connection: c.name,
      applicationName: request.applicationName,
      tls: null,
    });
    if (!opened.ok) continue; // refused (a grant missing, a cap): the refusal is in the audit log
    const session = opened.session;
    const stats = { bytesFromClient: 0, bytesToClient: 0, commands: 0 };
    let upstream: Upstream;
    try {
      upstream = await Upstream.open(
        session.connection.target,
        version,
        logger.child({ connection: c.name }),
      );
    } catch (err) {
      session.event("upstream.error", {
        connection: c.name,
        code: "upstream.unreachable",
        message: String(err),
      });
      logger.warn("mcp upstream unreachable", { connection: c.name, error: String(err) });
      await session.close("upstream_error", stats);
      continue;
    }
    connections.set(c.name, { session, upstream, stats });
    for (const t of upstream.tools) {
      if (!PLAIN_NAME.test(t.name)) continue;
      const d = await session.decide(mcpCommand("tools/list", t.name));
      const name = `${c.name}__${t.name}`;
      tools.push({
        name,
        kind: "upstream",
        connection: c.name,
        upstream: t,
        ...(d.action === "deny" ? { hiddenBy: d } : {}),
      });
    }
    const offered = {
      tools: tools.filter((t) => t.connection === c.name && !t.hiddenBy).map((t) => t.upstream?.name),
      resources: [] as string[],
      prompts: [] as string[],
    };
    for (const r of upstream.resources) {
      const listed = await listResource(session, masking, c.name, r);
      if (!listed) continue;
      (r.template ? catalog.templates : catalog.resources).push(listed);
      offered.resources.push(r.uri);
    }
    for (const p of upstream.prompts) {
      if (!PLAIN_NAME.test(p.name)) continue;
      const name = `${c.name}__${p.name}`;
      const d = await session.decide(mcpCommand("prompts/list", p.name));
      if (catalog.promptTargets.has(name)) continue;
      if (d.action === "deny") {
        catalog.promptTargets.set(name, { connection: c.name, prompt: p.name, hiddenBy: d });
        continue;
      }
      catalog.promptTargets.set(name, { connection: c.name, prompt: p.name });
      catalog.prompts.push(listPrompt(masking, d, name, p));
      offered.prompts.push(p.name);
    }
    session.record({ t: Date.now() * 1000, dir: "server", kind: "tools/list", data: { offered } });
  }
  return { tools, catalog, connections };
}

/**
 * A resource as resources/list shows it, or null when the policy refuses to list it, its URI is too long,
 * or (for a masked identity) its URI itself carries a value the masker would change: such a URI could not
 * be shown without showing the value.
 */
async function listResource(
  session: GatewaySession<McpTarget>,
  masking: MaskingEngine,
  connection: string,
  r: UpstreamResource,
): Promise<Record<string, unknown> | null> {
  if (r.uri.length > MAX_URI) return null;
  const d = await session.decide(
    mcpCommand(r.template ? "resources/templates/list" : "resources/list", r.uri),
  );
  if (d.action === "deny") return null;
  const m = d.mask.length > 0 ? resultMasker(masking, d.mask) : null;
  if (m && m.text(r.uri) !== r.uri) return null;
  const text = (s: string | undefined) => (s === undefined ? undefined : m ? m.text(s) : s);
  const uri = frontUri(connection, r.uri);
  return {
    ...(r.template ? { uriTemplate: uri } : { uri }),
    name: text(r.name),
    ...(r.title !== undefined ? { title: text(r.title) } : {}),
    description:
      `${text(r.description) ?? ""}\n\nServed by the MCP connection "${connection}" through Custos.`.trim(),
    ...(r.mimeType !== undefined ? { mimeType: r.mimeType } : {}),
  };
}

function listPrompt(
  masking: MaskingEngine,
  d: Decision,
  name: string,
  p: UpstreamPrompt,
): Record<string, unknown> {
  const m = d.mask.length > 0 ? resultMasker(masking, d.mask) : null;
  const text = (s: string | undefined) => (s === undefined ? undefined : m ? m.text(s) : s);
  return {
    name,
    ...(p.title !== undefined ? { title: text(p.title) } : {}),
    ...(p.description !== undefined ? { description: text(p.description) } : {}),
    ...(p.arguments
      ? {
          arguments: p.arguments
            .filter((a) => typeof a.name === "string" && PLAIN_NAME.test(a.name))
            .map((a) => ({
              name: a.name,
              ...(typeof a.description === "string" ? { description: text(a.description) } : {}),
              ...(typeof a.required === "boolean" ? { required: a.required } : {}),
            })),
        }
      : {}),
  };
}

export async function closeUpstreams(
  connections: Map<string, UpstreamConnection>,
  reason: string,
): Promise<void> {
  await Promise.all(
    [...connections.values()].map(async (c) => {
      await c.upstream.close();
      await c.session.close(reason, c.stats);
    }),
  );
}
