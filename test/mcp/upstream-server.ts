// An upstream MCP server written with the official SDK for the tests: a customer record full of regulated
// values (as text, as JSON text and as structured content), a write tool, an image, and a record of what
// it received. Served over Streamable HTTP in-process (`startHttpUpstream`) or over stdio when run as a
// program (`bun test/mcp/upstream-server.ts --stdio`), where it writes each call it receives to the file
// named by CALLS_FILE, so a test reads the upstream's side directly. It also offers resources (a record as
// JSON, prose, a binary blob, a credentials file, a URI that itself carries an SSN, a template) and prompts
// (one whose message carries the record, one with an image), and lets resources be subscribed to, so a
// test can show the gateway never offers that.
import { appendFileSync } from "node:fs";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

export const UPSTREAM_PII = {
  ssn: "219-09-9999",
  card: "4012888888881881",
  email: "grace.hopper@example.com",
  iban: "GB82WEST12345698765432",
} as const;
export const UPSTREAM_HARMLESS = "Arlington";
/** In the upstream's credentials file only: no agent may ever receive it. */
export const UPSTREAM_SECRET_FILE = "db_password=Canary-Pw-5521";
/** Harmless text of the look-alike settings file. */
export const UPSTREAM_SETTINGS = "theme=dark-Canary-Settings";
/** Written to stderr by the stdio server with the secret it was given: never in the gateway's log raw. */
export const STDERR_MARK = "stderr-mark-31c7";
/** A report larger than the stdio connection's max_message. */
export const BIG_REPORT_BYTES = 300_000;

const record = {
  id: 7,
  city: UPSTREAM_HARMLESS,
  ssn: UPSTREAM_PII.ssn,
  contact: { email: UPSTREAM_PII.email },
  note: `card ${UPSTREAM_PII.card} iban ${UPSTREAM_PII.iban}`,
};

const objectSchema = (properties: Record<string, unknown> = {}) => ({ type: "object" as const, properties });

export function upstreamServer(onCall: (name: string, args: unknown) => void): Server {
  const server = new Server(
    { name: "test-upstream", version: "1.0.0" },
    { capabilities: { tools: {}, resources: { subscribe: true }, prompts: {} } },
  );
  serveResources(server, onCall);
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
      { name: "get_big_report", description: "A very large report", inputSchema: objectSchema() },
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
      case "get_big_report":
        return { content: [{ type: "text", text: "x".repeat(BIG_REPORT_BYTES) }] };
      default:
        return { content: [{ type: "text", text: "unknown" }], isError: true };
    }
  });
  return server;
}

const resources = [
  { uri: "test://customers/7", name: "customer 7", mimeType: "application/json" },
  {
    uri: "test://customers/7/notes",
    name: "notes",
    description: `Notes on the customer in ${UPSTREAM_HARMLESS}, SSN ${UPSTREAM_PII.ssn}`,
  },
  { uri: "test://logo.png", name: "logo", mimeType: "image/png" },
  { uri: "test://config/secrets.env", name: "secrets" },
  { uri: "test://config/settings.json", name: "settings" },
  { uri: `test://by-ssn/${UPSTREAM_PII.ssn}`, name: "by ssn" },
];

function serveResources(server: Server, onCall: (name: string, args: unknown) => void): void {
  server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: [{ uriTemplate: "test://customers/{id}", name: "a customer by id" }],
  }));
  server.setRequestHandler(SubscribeRequestSchema, (req) => {
    onCall("resources/subscribe", { uri: req.params.uri });
    return {};
  });
  server.setRequestHandler(ReadResourceRequestSchema, (req) => {
    const uri = req.params.uri;
    onCall("resources/read", { uri });
    const text = (t: string, mimeType = "text/plain") => ({ contents: [{ uri, mimeType, text: t }] });
    if (/^test:\/\/customers\/\d+$/.test(uri)) return text(JSON.stringify(record), "application/json");
    if (uri === "test://customers/7/notes")
      return text(
        `Lives in ${UPSTREAM_HARMLESS}. SSN ${UPSTREAM_PII.ssn}, card ${UPSTREAM_PII.card}, ${UPSTREAM_PII.email}`,
      );
    if (uri === "test://logo.png")
      return {
        contents: [{ uri, mimeType: "image/png", blob: Buffer.from(UPSTREAM_PII.ssn).toString("base64") }],
      };
    if (uri === "test://config/secrets.env") return text(UPSTREAM_SECRET_FILE);
    if (uri === "test://config/settings.json") return text(UPSTREAM_SETTINGS);
    if (uri.startsWith("test://by-ssn/")) return text(`record of ${UPSTREAM_PII.ssn}`);
    throw new Error(`no such resource ${uri}`);
  });
  server.setRequestHandler(ListPromptsRequestSchema, () => ({
    prompts: [
      {
        name: "summarise_customer",
        description: "Summarise a customer",
        arguments: [{ name: "id", required: true }],
      },
      { name: "show_logo", description: "A prompt with an image" },
      { name: "bad prompt!", description: "Not a plain identifier" },
    ],
  }));
  server.setRequestHandler(GetPromptRequestSchema, (req) => {
    onCall("prompts/get", { name: req.params.name, arguments: req.params.arguments ?? {} });
    if (req.params.name === "summarise_customer")
      return {
        description: `Customer ${req.params.arguments?.id} (SSN ${UPSTREAM_PII.ssn})`,
        messages: [
          {
            role: "user",
            content: { type: "text", text: `Summarise this customer: ${JSON.stringify(record)}` },
          },
          {
            role: "assistant",
            content: {
              type: "resource",
              resource: {
                uri: "test://customers/7/notes",
                text: `Card ${UPSTREAM_PII.card} in ${UPSTREAM_HARMLESS}`,
              },
            },
          },
        ],
      };
    if (req.params.name === "show_logo")
      return {
        messages: [
          {
            role: "user",
            content: {
              type: "image",
              data: Buffer.from(UPSTREAM_PII.ssn).toString("base64"),
              mimeType: "image/png",
            },
          },
        ],
      };
    throw new Error("no such prompt");
  });
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
  // What a careless server logs at start-up: its own credential, in several shapes.
  const secret = process.env.STDIO_SECRET ?? "";
  process.stderr.write(`${STDERR_MARK} starting with api_key=${secret}\n`);
  process.stderr.write(`${STDERR_MARK} upstream said Authorization: Bearer ${secret}\n`);
  process.stderr.write(`${STDERR_MARK} raw ${secret} end\n`);
  const server = upstreamServer((name, args) => {
    if (file)
      appendFileSync(
        file,
        `${JSON.stringify({ name, args, pid: process.pid, env: Object.keys(process.env).sort() })}\n`,
      );
  });
  await server.connect(new StdioServerTransport());
}
