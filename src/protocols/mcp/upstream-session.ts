// The `type: mcp` connections of one MCP session: each opened as a gateway session of its own (identity
// checked, connection allowed, session.start), its upstream dialled or started, and its tools offered only
// where the policy would not refuse them by name (`tools/list` decided per tool). Tool calls on them are
// decided here, on tool name and arguments, because MCP has no other front door that could decide them.
import type { McpTarget } from "../../config/mcp-load.ts";
import type { Command } from "../../core/command.ts";
import type { Logger } from "../../core/log.ts";
import type { Gateway, GatewaySession, SessionStats, UsableConnection } from "../../core/session.ts";
import type { ToolEntry } from "./tools.ts";
import { withoutSecrets } from "./transcript.ts";
import { Upstream, type UpstreamTool } from "./upstream.ts";

export interface UpstreamConnection {
  session: GatewaySession<McpTarget>;
  upstream: Upstream;
  stats: SessionStats;
}

export interface OpenedUpstreams {
  tools: ToolEntry[];
  connections: Map<string, UpstreamConnection>;
}

/** The policy's view of one MCP request to an upstream (input.command.method, .tool, .arguments). */
export function mcpCommand(method: "tools/list" | "tools/call", tool: string, args?: unknown): Command {
  const details = { method, tool, ...(args !== undefined ? { arguments: args } : {}) };
  // The decision cache's key: everything the policy reads, as a digest once it is long.
  const full = JSON.stringify(["mcp", method, tool, args ?? null]);
  const shape =
    full.length <= 256 ? full : `sha256:${new Bun.CryptoHasher("sha256").update(full).digest("hex")}`;
  return {
    protocol: "mcp",
    // What the audit event shows: the arguments with secret-named fields removed.
    text: `${method} ${tool}${args !== undefined ? ` ${JSON.stringify(withoutSecrets(args))}` : ""}`,
    keyword: method,
    details,
    shape,
  };
}

export async function openUpstreams(
  gateway: Gateway,
  request: { clientAddr: string; credential: string; applicationName: string },
  usable: readonly UsableConnection[],
  version: string,
  logger: Logger,
): Promise<OpenedUpstreams> {
  const tools: ToolEntry[] = [];
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
      upstream = await Upstream.open(session.connection.target, version);
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
      // Names that are not plain identifiers never reach the agent: a tool name must mean one thing.
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(t.name)) continue;
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
    session.record({
      t: Date.now() * 1000,
      dir: "server",
      kind: "tools/list",
      data: {
        offered: tools.filter((t) => t.connection === c.name && !t.hiddenBy).map((t) => t.upstream?.name),
      },
    });
  }
  return { tools, connections };
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
