// MCP as a protocol module: the front door at /mcp on listen.http, started with or without `type: mcp`
// connections, through which an agent reaches every connection its policy allows as MCP tools.
import type { ProtocolModule } from "../registry.ts";
import { createMcpFrontDoor } from "./server.ts";

// The largest JSON-RPC message /mcp accepts: a tool call carries one statement or one JSON body.
const MAX_MESSAGE = 4 << 20;

export const mcpProtocol: ProtocolModule = {
  type: "mcp",
  startWithoutConnections: true,
  async start(ctx) {
    const door = createMcpFrontDoor({
      gateway: ctx.gateway,
      masking: ctx.masking,
      logger: ctx.logger,
      discovery: ctx.discovery,
      endpoints: ctx.endpoints,
      dataDir: ctx.dataDir,
      maxBody: Math.min(MAX_MESSAGE, ctx.limits.maxMessage),
      version: "0.1.0",
    });
    return {
      port: null,
      fetch(req, server) {
        const ip = server.requestIP(req);
        const addr = ip
          ? ip.family === "IPv6"
            ? `[${ip.address}]:${ip.port}`
            : `${ip.address}:${ip.port}`
          : "unknown";
        return door.fetch(req, addr, () => server.timeout(req, 0));
      },
      async stop() {
        await door.close();
      },
    };
  },
};
