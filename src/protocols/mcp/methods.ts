// The JSON-RPC methods /mcp accepts (ENFORCEMENT.md 4): what the tools, resources and prompts offered need,
// and nothing else. Subscriptions, completions, logging levels, tasks, sampling replies and any method a
// later revision adds are refused before the SDK sees them, so a capability is never offered by accident.
const REQUESTS = new Set([
  "initialize",
  "ping",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "prompts/list",
  "prompts/get",
]);
// Notifications a client may send (MCP 2025-11-25 basic/lifecycle, basic/utilities/cancellation).
const NOTIFICATIONS = new Set(["notifications/initialized", "notifications/cancelled"]);

/** Null when every message of the body is allowed; else the reason the first one is not. */
export function refusedMethod(body: unknown): string | null {
  const messages = Array.isArray(body) ? body : [body];
  if (messages.length === 0) return "an empty batch";
  for (const m of messages) {
    if (typeof m !== "object" || m === null) return "a message that is not a JSON-RPC object";
    const method = (m as { method?: unknown }).method;
    const isRequest = "id" in m;
    // This server sends no requests, so a client has nothing to answer: a response is refused too.
    if (typeof method !== "string") return "a JSON-RPC response to a request this server never sent";
    if (!(isRequest ? REQUESTS : NOTIFICATIONS).has(method))
      return `the method ${JSON.stringify(method.slice(0, 100))} is not offered by this gateway`;
  }
  return null;
}
