// Connections of `type: mcp`: an upstream MCP server the gateway governs, reached over Streamable HTTP
// (`target: {url}`) or started by the gateway as a stdio child (`target: {command: [...]}`). Its credentials
// come from the environment and are injected by the gateway; the caller's token never reaches it. Pure.
import { z } from "zod";
import { commonConnectionKeys, duration, envName, nonEmpty, size } from "./connection-keys.ts";
import { outboundUrl } from "./outbound-url.ts";

export const mcpConnectionSchema = z.strictObject({
  type: z.literal("mcp"),
  ...commonConnectionKeys,
  target: z.union([
    z.strictObject({
      url: outboundUrl,
      /** Sent as `Authorization: Bearer <value of this variable>`. */
      bearer_env: envName.optional(),
      /** Further headers, each the value of an environment variable. */
      headers_env: z.record(z.string().regex(/^[A-Za-z0-9-]+$/), envName).default({}),
    }),
    z.strictObject({
      command: z.array(nonEmpty).min(1, "name the program to start"),
      /** The child's environment: these variables only (name → variable of the gateway's own). */
      env_from: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), envName).default({}),
      cwd: nonEmpty.optional(),
      /** The largest JSON-RPC message (one stdout line) the child may write; past it the child is stopped. */
      max_message: size.default(4 << 20),
    }),
  ]),
  /** A tool call the upstream has not answered after this long fails. */
  timeout: duration.default(60_000),
});
