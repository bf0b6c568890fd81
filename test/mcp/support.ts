// Shared pieces of the MCP end-to-end tests: the official TypeScript SDK client against the gateway's /mcp,
// with a fetch that keeps every byte the client received (so fixture values are counted in all of them).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

export interface McpTestClient {
  client: Client;
  /** Every response byte this client received, decoded as UTF-8. */
  received(): string;
  close(): Promise<void>;
}

export async function mcpClient(httpPort: number, token: string): Promise<McpTestClient> {
  const chunks: Uint8Array[] = [];
  const recordingFetch = async (input: string | URL | Request, init?: RequestInit) => {
    const res = await fetch(input, init);
    if (!res.body) return res;
    const [mine, theirs] = res.body.tee();
    // A stream cut when its gateway stops ends the copy; the SDK sees the same error on its half.
    void (async () => {
      for await (const c of mine as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    })().catch(() => undefined);
    return new Response(theirs, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${httpPort}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
    fetch: recordingFetch,
  });
  const client = new Client({ name: "custos-test", version: "1.0.0" });
  await client.connect(transport);
  return {
    client,
    received: () => Buffer.concat(chunks).toString("utf8"),
    async close() {
      await transport.terminateSession().catch(() => undefined);
      await client.close();
    },
  };
}

export type ToolText = {
  content: { type: string; text?: string }[];
  isError?: boolean;
  structuredContent?: unknown;
};

export const textOf = (r: unknown) => ((r as ToolText).content ?? []).map((c) => c.text ?? "").join("\n");
