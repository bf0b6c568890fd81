// An upstream MCP server written with the official SDK for the tests: a customer record full of regulated
// values (as text, as JSON text and as structured content), a write tool, an image, and a record of what
// it received. Served over Streamable HTTP in-process (`startHttpUpstream`) or over stdio when run as a
// program (`bun test/mcp/upstream-server.ts --stdio`), where it writes each call it receives to the file
// named by CALLS_FILE, so a test reads the upstream's side directly.
import { appendFileSync } from "node:fs";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

export const UPSTREAM_PII = {
  ssn: "219-09-9999",
  card: "4012888888881881",
  email: "grace.hopper@example.com",
  iban: "GB82WEST12345698765432",
} as const;
export const UPSTREAM_HARMLESS = "Arlington";

const record = {
  id: 7,
  city: UPSTREAM_HARMLESS,
  ssn: UPSTREAM_PII.ssn,
  contact: { email: UPSTREAM_PII.email },
  note: `card ${UPSTREAM_PII.card} iban ${UPSTREAM_PII.iban}`,
};

const objectSchema = (properties: Record<string, unknown> = {}) => ({ type: "object" as const, properties });

export function upstreamServer(onCall: (name: string, args: unknown) => void): Server {
  const server = new Server({ name: "test-upstream", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: [
      {
        name: "get_customer",
        description: "A customer record",
        inputSchema: objectSchema({ id: { type: "number" } }),
      },
      { name: "get_customer_text", description: "The record as prose", inputSchema: objectSchema() },
      { name: "get_logo", description: "An image", inputSchema: objectSchema() },
      {
        name: "delete_customer",
        description: "Deletes a customer",
        inputSchema: objectSchema({ id: { type: "number" } }),
      },
      { name: "bad name!", description: "Not a plain identifier", inputSchema: objectSchema() },
    ],
  }));
  server.setRequestHandler(CallToolRequestSchema, (req) => {
    onCall(req.params.name, req.params.arguments ?? {});
    switch (req.params.name) {
      case "get_customer":
        return {
          content: [{ type: "text", text: JSON.stringify(record) }],
          structuredContent: record,
        };
      case "get_customer_text":
        return {
          content: [
            {
              type: "text",
              text: `Customer in ${UPSTREAM_HARMLESS}, SSN ${UPSTREAM_PII.ssn}, mail ${UPSTREAM_PII.email}, card ${UPSTREAM_PII.card}`,
            },
          ],
        };
      case "get_logo":
        return {
          content: [
            { type: "image", data: Buffer.from(UPSTREAM_PII.ssn).toString("base64"), mimeType: "image/png" },
          ],
        };
      case "delete_customer":
        return { content: [{ type: "text", text: "deleted" }] };
      default:
        return { content: [{ type: "text", text: "unknown" }], isError: true };
    }
  });
  return server;
}

export interface HttpUpstream {
  url: string;
  /** Every HTTP request's headers, lower-cased, as the upstream received them. */
  headers: Record<string, string>[];
  calls: { name: string; args: unknown }[];
  stop(): void;
}

export function startHttpUpstream(): HttpUpstream {
  const headers: Record<string, string>[] = [];
  const calls: { name: string; args: unknown }[] = [];
  const http = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      headers.push(Object.fromEntries(req.headers.entries()));
      // Stateless: a server and transport per request, as the SDK's examples do.
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      const server = upstreamServer((name, args) => void calls.push({ name, args }));
      await server.connect(transport);
      return transport.handleRequest(req);
    },
  });
  return { url: `http://127.0.0.1:${http.port}/mcp`, headers, calls, stop: () => http.stop(true) };
}

if (import.meta.main && process.argv.includes("--stdio")) {
  const file = process.env.CALLS_FILE;
  const server = upstreamServer((name, args) => {
    if (file)
      appendFileSync(file, `${JSON.stringify({ name, args, env: Object.keys(process.env).sort() })}\n`);
  });
  await server.connect(new StdioServerTransport());
}
