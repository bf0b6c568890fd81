// The MCP front door on listen.http: `/mcp` (Streamable HTTP) and its RFC 9728 metadata. Narrated per
// request: origin checked (DNS rebinding), bearer token required, body bounded and parsed, then either an
// existing session (same token, not expired) or an `initialize` that opens a front-door session through
// the pipeline and offers the tools of the connections its identity may use.
import { timingSafeEqual } from "node:crypto";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Gateway } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { bearerToken } from "../http/headers.ts";
import { type Discovery, metadataResponse, metadataUrl } from "./discovery.ts";
import { refusedMethod } from "./methods.ts";
import { McpSession } from "./session.ts";
import { toolsFor } from "./tools.ts";
import { openUpstreams } from "./upstream-session.ts";
import { INVALID_REQUEST, jsonRpcError, METHOD_NOT_FOUND, PARSE_ERROR, refusal } from "./wire-error.ts";

export interface McpFrontDoorOptions {
  gateway: Gateway;
  masking: MaskingEngine;
  logger: Logger;
  discovery: Discovery;
  endpoints(): { postgres: number; http: number; protocols: Readonly<Record<string, number>> };
  /** The gateway's data_dir (its own SSH host key, which `<conn>__exec` checks on loopback). */
  dataDir: string;
  /** Largest JSON-RPC message accepted (bytes). */
  maxBody: number;
  version: string;
}

export interface McpFrontDoor {
  /** `holdOpen` lifts the listener's idle time-out for this request (a call may wait for an approver). */
  fetch(req: Request, clientAddr: string, holdOpen?: () => void): Promise<Response> | undefined;
  readonly sessions: number;
  close(): Promise<void>;
}

const SESSION_HEADER = "mcp-session-id";
const SESSIONS_PER_TOKEN = 8;

export function createMcpFrontDoor(opts: McpFrontDoorOptions): McpFrontDoor {
  const sessions = new Map<string, McpSession>();
  const challenge = metadataUrl(opts.discovery);
  const allowedOrigin = new URL(opts.discovery.publicUrl).origin;
  let closing = false;

  const end = (s: McpSession, reason: string) => {
    sessions.delete(s.session.id);
    void s.close(reason);
  };
  // Many clients never send DELETE: a token that initialises again and again would otherwise hold its
  // front-door sessions until they go idle. Past this many, its least recently used idle one is ended.
  const evictIdle = (token: string) => {
    const mine = [...sessions.values()].filter((s) => sameSecret(s.credential, token));
    if (mine.length < SESSIONS_PER_TOKEN) return;
    const idle = mine.filter((s) => s.inflight === 0).sort((a, b) => a.lastUsed - b.lastUsed)[0];
    if (idle) end(idle, "superseded");
  };
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const s of sessions.values()) {
      const why = s.expired(now);
      if (why) end(s, why);
    }
  }, 1000);
  sweeper.unref();

  const handle = async (req: Request, clientAddr: string, holdOpen?: () => void): Promise<Response> => {
    // MCP 2025-11-25 transports §security: validate Origin, so a web page cannot drive a local gateway.
    const origin = req.headers.get("origin");
    if (origin !== null && origin !== allowedOrigin && !isLoopbackOrigin(origin))
      return jsonRpcError(403, INVALID_REQUEST, `origin ${origin} is not allowed`);
    if (closing)
      return refusal(new CustosError("gateway.shutting_down", "the gateway is shutting down"), challenge);
    const token = bearerToken(req.headers);
    if (token === null || token === "malformed") {
      const err =
        token === null
          ? new CustosError(
              "identity.missing",
              "an identity token is required: Authorization: Bearer <token>",
            )
          : new CustosError("identity.malformed", "the Authorization header is not a Bearer token");
      opts.gateway.reject("mcp", clientAddr, err);
      return refusal(err, challenge);
    }
    if (req.method === "GET")
      // No server-initiated messages are offered, so no standalone SSE stream (transports §2.2).
      return jsonRpcError(405, INVALID_REQUEST, "this server sends no server-initiated messages", {
        allow: "POST, DELETE",
      });
    if (req.method !== "POST" && req.method !== "DELETE")
      return jsonRpcError(405, INVALID_REQUEST, `method ${req.method} is not allowed`, {
        allow: "POST, DELETE",
      });

    const sessionId = req.headers.get(SESSION_HEADER);
    if (sessionId !== null) {
      const s = sessions.get(sessionId);
      if (!s) return jsonRpcError(404, INVALID_REQUEST, "session not found: initialize a new one");
      // A session is its initialising token's: another token (even of the same subject) starts its own.
      if (!sameSecret(s.credential, token))
        return jsonRpcError(
          403,
          INVALID_REQUEST,
          "this session belongs to another token: initialize a new one",
        );
      const why = s.expired(Date.now());
      if (why) {
        end(s, why);
        if (why === "expired")
          return refusal(new CustosError("identity.expired", "the identity token has expired"), challenge);
        return jsonRpcError(404, INVALID_REQUEST, "session ended (idle): initialize a new one");
      }
      s.lastUsed = Date.now();
      if (req.method === "DELETE") {
        const res = await s.transport.handleRequest(req);
        end(s, "client");
        return res;
      }
      const body = await readJson(req, opts.maxBody);
      if (!body.ok) return body.response;
      const refused = refusedMethod(body.value);
      if (refused) {
        // An attempt at a capability that is not offered is worth an alert (F7), not just an error.
        s.session.event("mcp.method_refused", { reason: refused });
        return methodRefused(body.value, refused);
      }
      // A call may be held for an approver with nothing to send meanwhile (no progressToken, or an AWS
      // call whose listener holds it silently): once its whole body is in, the idle time-out no longer
      // applies; the call's own bounds (review_timeout, the upstream's timeout, the session's) do.
      if (mayWait(body.value)) holdOpen?.();
      return s.transport.handleRequest(req, { parsedBody: body.value });
    }

    if (req.method !== "POST") return jsonRpcError(400, INVALID_REQUEST, `missing ${SESSION_HEADER} header`);
    const body = await readJson(req, opts.maxBody);
    if (!body.ok) return body.response;
    // Only an initialize opens a session: nothing else is audited as a session that never began.
    if (!isInitializeRequest(body.value))
      return jsonRpcError(400, INVALID_REQUEST, `no ${SESSION_HEADER}: the first request must be initialize`);
    evictIdle(token);
    const opened = opts.gateway.openFrontDoor
      ? await opts.gateway.openFrontDoor({
          protocol: "mcp",
          clientAddr,
          credential: token,
          user: "",
          connection: "mcp",
          applicationName: clientName(body.value),
          tls: null,
        })
      : { ok: false as const, error: new CustosError("internal", "this gateway has no front-door sessions") };
    if (!opened.ok) return refusal(opened.error, challenge);
    const tools = toolsFor(opened.connections);
    const upstreams = await openUpstreams(
      opts.gateway,
      opts.masking,
      { clientAddr, credential: token, applicationName: `custos-mcp ${opened.session.id}` },
      opened.connections,
      opts.version,
      opts.logger,
    );
    for (const t of upstreams.tools) if (!tools.has(t.name)) tools.set(t.name, t);
    const s = new McpSession({
      session: opened.session,
      upstreams: upstreams.connections,
      catalog: upstreams.catalog,
      masking: opts.masking,
      credential: token,
      tools,
      endpoints: opts.endpoints,
      dataDir: opts.dataDir,
      maxBody: opts.maxBody,
      version: opts.version,
    });
    opened.session.onTerminate(() => end(s, "terminated"));
    sessions.set(opened.session.id, s);
    try {
      await s.connect();
      return await s.transport.handleRequest(req, { parsedBody: body.value });
    } catch (err) {
      opts.logger.error("mcp initialize failed", { error: String(err) });
      end(s, "error");
      return jsonRpcError(500, INVALID_REQUEST, "the session could not be initialised");
    }
  };

  return {
    fetch(req, clientAddr, holdOpen) {
      const path = pathOf(req.url);
      if (path === "/mcp") return handle(req, clientAddr, holdOpen);
      if (path.startsWith("/.well-known/oauth-protected-resource") && req.method === "GET")
        return Promise.resolve(metadataResponse(opts.discovery));
      return undefined;
    },
    get sessions() {
      return sessions.size;
    },
    async close() {
      closing = true;
      clearInterval(sweeper);
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.all(all.map((s) => s.close("shutdown")));
    },
  };
}

/** JSON-RPC 2.0 §5.1 "Method not found", answering the request's own id when it has one. */
function methodRefused(body: unknown, reason: string): Response {
  const id =
    !Array.isArray(body) && typeof body === "object" && body !== null ? (body as { id?: unknown }).id : null;
  const safeId = typeof id === "string" || typeof id === "number" ? id : null;
  const payload = {
    jsonrpc: "2.0",
    id: safeId,
    error: { code: METHOD_NOT_FOUND, message: `refused: ${reason}` },
  };
  return new Response(JSON.stringify(payload), {
    status: safeId === null ? 400 : 200,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

const WAITING_METHODS = new Set(["tools/call", "resources/read", "prompts/get"]);

function mayWait(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => WAITING_METHODS.has(String((m as { method?: unknown })?.method)));
}

type JsonBody = { ok: true; value: unknown } | { ok: false; response: Response };

/** The body, bounded before it is buffered (ENFORCEMENT.md 7), parsed as JSON. */
async function readJson(req: Request, max: number): Promise<JsonBody> {
  const tooLarge = () => ({
    ok: false as const,
    response: jsonRpcError(413, INVALID_REQUEST, `the message is larger than ${max} bytes`),
  });
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > max) return tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > max) return tooLarge();
      chunks.push(chunk);
    }
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString("utf8")) };
  } catch {
    return { ok: false, response: jsonRpcError(400, PARSE_ERROR, "parse error: the body is not JSON") };
  }
}

function pathOf(url: string): string {
  const at = url.indexOf("/", url.indexOf("//") + 2);
  if (at === -1) return "/";
  const q = url.indexOf("?", at);
  return q === -1 ? url.slice(at) : url.slice(at, q);
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    const h = new URL(origin).hostname;
    return h === "localhost" || h === "127.0.0.1" || h === "[::1]";
  } catch {
    return false;
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = new Bun.CryptoHasher("sha256").update(a).digest();
  const y = new Bun.CryptoHasher("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}

function clientName(init: unknown): string | undefined {
  const info = (init as { params?: { clientInfo?: { name?: unknown; version?: unknown } } }).params
    ?.clientInfo;
  if (typeof info?.name !== "string") return undefined;
  return `${info.name.slice(0, 64)}${typeof info.version === "string" ? ` ${info.version.slice(0, 32)}` : ""}`;
}
