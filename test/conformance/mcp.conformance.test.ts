// The conformance suite (checks.ts) against an upstream MCP server (`type: mcp`, written with the SDK) behind
// the MCP front door: the official TypeScript SDK client as the agent, the gateway's bearer token for the
// upstream injected by the gateway.
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { type HttpTestGateway, startHttpGateway } from "../http/support.ts";
import { mcpClient, textOf } from "../mcp/support.ts";
import { type HttpUpstream, startHttpUpstream } from "../mcp/upstream-server.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type ClientResult, conformance } from "./checks.ts";

const UP_TOKEN = "conformance-mcp-upstream-9c2d";
let issuer: OidcIssuer;
let up: HttpUpstream;
let gw: HttpTestGateway;

/** One MCP session: initialize, one tool call, close; every byte the client received. */
async function call(token: string, name: string): Promise<ClientResult> {
  let c: Awaited<ReturnType<typeof mcpClient>>;
  try {
    c = await mcpClient(gw.gw.httpPort, token);
  } catch (err) {
    return { refused: true, bytes: String(err) };
  }
  try {
    const r = await c.client.callTool({ name, arguments: { id: 7 } });
    return { refused: r.isError === true, bytes: `${c.received()}\n${textOf(r)}` };
  } catch (err) {
    return { refused: err instanceof McpError, bytes: `${c.received()}\n${String(err)}` };
  } finally {
    await c.close();
  }
}

conformance(
  "mcp",
  async () => {
    issuer = await startOidcIssuer();
    up = startHttpUpstream();
    gw = await startHttpGateway({
      issuer,
      env: { UP_TOKEN },
      connections: [
        {
          name: "files",
          type: "mcp",
          target: { url: up.url, bearer_env: "UP_TOKEN" },
          allow_groups: ["agents"],
        },
      ],
    });
    const agentToken = await gw.token("agent-conformance", ["agents"]);
    return {
      protocol: "mcp",
      connection: "files",
      gateway: gw.gw,
      dataDir: gw.dataDir,
      agentToken,
      agentSubject: "agent-conformance",
      endsWithClient: true,
      targetUser: "service",
      targetSecrets: [UP_TOKEN],
      badToken: () => call("not-a-token", "files__get_customer"),
      allowed: async () => ({ ...(await call(agentToken, "files__get_customer")), marker: "Arlington" }),
      denied: () => call(agentToken, "files__delete_customer"),
      deniedTookEffect: async () => up.calls.some((x) => x.name === "delete_customer"),
      garbage: async () => {
        const res = await fetch(`http://127.0.0.1:${gw.gw.httpPort}/mcp`, {
          method: "POST",
          headers: { authorization: `Bearer ${agentToken}`, "content-type": "application/json" },
          body: "\u0016\u0003\u0001garbage{{{",
        });
        return { refused: res.status >= 400, bytes: await res.text() };
      },
    };
  },
  async () => {
    await gw?.stop();
    up?.stop();
    await issuer?.stop();
  },
);
