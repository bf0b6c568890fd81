// The HTTP gateway mounted on the gateway's HTTP listener: `/c/<name>/<path>` reaches connection <name>.
// It routes, authenticates through the session pool, and hands each request to exchange.ts (or, for a
// WebSocket upgrade, to websocket.ts). Every failure becomes a problem+json response (wire-error.ts).
import type { Server } from "bun";
import { nowMicros } from "../../core/clock.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Gateway } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { exchange, refuse, requestCommand } from "./exchange.ts";
import { bearerToken, forwardRequestHeaders } from "./headers.ts";
import { RequestHold, SessionPool } from "./sessions.ts";
import { applyInjection } from "./target.ts";
import { attachUpstream, connectUpstream, type WsData, websocketHandler } from "./websocket.ts";
import { problemResponse } from "./wire-error.ts";

export interface HttpGatewayOptions {
  gateway: Gateway;
  masking: MaskingEngine;
  logger: Logger;
  /** A client connection quiet this long ends its session. Default 10 s (Bun's keep-alive idle). */
  quietMs?: number;
}

export interface HttpGateway {
  /** Answers `/c/...` requests; undefined for every other path (the admin app answers those). */
  fetch(req: Request, server: Server<WsData>): Promise<Response | undefined> | undefined;
  readonly websocket: typeof websocketHandler;
  readonly sessions: number;
  close(): Promise<void>;
}

const PREFIX = "/c/";

export function createHttpGateway(opts: HttpGatewayOptions): HttpGateway {
  const pool = new SessionPool({ gateway: opts.gateway, quietMs: opts.quietMs ?? 10_000 });
  const ctx = { masking: opts.masking, logger: opts.logger };
  let closing = false;

  const handle = async (req: Request, server: Server<WsData>, url: URL): Promise<Response | undefined> => {
    const after = url.pathname.slice(PREFIX.length);
    const slash = after.indexOf("/");
    const name = decodeURIComponent(slash === -1 ? after : after.slice(0, slash));
    const rest = slash === -1 ? "" : after.slice(slash);
    const clientAddr = addressOf(server, req);
    if (closing)
      return problemResponse(new CustosError("gateway.shutting_down", "the gateway is shutting down"));
    const token = bearerToken(req.headers);
    if (token === null || token === "malformed") {
      const err =
        token === null
          ? new CustosError(
              "identity.missing",
              "an identity token is required: Authorization: Bearer <token>",
            )
          : new CustosError("identity.malformed", "the Authorization header is not a Bearer token");
      opts.gateway.reject("http", clientAddr, err);
      return problemResponse(err);
    }
    const got = await pool.acquire(name, clientAddr, token, null);
    if (!got.ok) return problemResponse(got.error);
    const hold = new RequestHold(got.pooled);
    try {
      if (!got.pooled.session.recordable()) {
        hold.release();
        return problemResponse(
          new CustosError("audit.unavailable", "audit store unavailable: requests are refused"),
        );
      }
      if (req.headers.get("upgrade")?.toLowerCase() === "websocket")
        return await upgrade(req, server, hold, name, rest, url.search);
      return await exchange(ctx, req, hold, name, rest, url.search);
    } catch (err) {
      const e =
        err instanceof CustosError
          ? err
          : new CustosError("internal", "request failed", { error: String(err) });
      if (!req.signal.aborted)
        opts.logger.error("http exchange failed", { connection: name, code: e.code, error: e.message });
      hold.release();
      return problemResponse(e);
    }
  };

  const upgrade = async (
    req: Request,
    server: Server<WsData>,
    hold: RequestHold,
    name: string,
    rest: string,
    search: string,
  ) => {
    const started = nowMicros();
    const session = hold.pooled.session;
    const target = session.connection.target;
    const { command } = requestCommand(req, target, rest, search);
    const decision = await session.decide(command);
    session.record({
      t: started,
      dir: "client",
      kind: "upgrade",
      data: { path: command.http!.path, query: search },
    });
    if (decision.action !== "allow") return refuse(hold, command, decision, started);
    if (decision.record === "sync") await session.durable();
    const url = new URL(`${target.url}${rest}${search}`);
    const headers = forwardRequestHeaders(req.headers);
    for (const h of [
      "sec-websocket-key",
      "sec-websocket-version",
      "sec-websocket-extensions",
      "sec-websocket-protocol",
    ])
      headers.delete(h);
    applyInjection(target.inject, headers, url);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const protocols = (req.headers.get("sec-websocket-protocol") ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);
    let upstream: WebSocket;
    try {
      upstream = await connectUpstream(url.href, headers, protocols, target.timeoutMs);
    } catch (err) {
      const e = err instanceof CustosError ? err : new CustosError("upstream.unreachable", String(err));
      session.event("upstream.error", { connection: name, code: e.code, message: e.message });
      hold.complete(command, decision, {
        tag: "502",
        rows: 0,
        durationUs: nowMicros() - started,
        detail: { status: 502, error: e.code },
      });
      return problemResponse(e);
    }
    const data: WsData = {
      upstream,
      hold,
      command,
      decision,
      started,
      recordCap: target.limits.recordBody,
      early: [],
      client: null,
      bytesIn: 0,
      bytesOut: 0,
      messages: 0,
      done: false,
    };
    attachUpstream(data);
    const chosen = upstream.protocol;
    if (!server.upgrade(req, { data, headers: chosen ? { "sec-websocket-protocol": chosen } : {} })) {
      upstream.close();
      hold.complete(command, decision, {
        tag: "400",
        rows: 0,
        durationUs: nowMicros() - started,
        detail: { status: 400 },
      });
      return problemResponse(
        new CustosError("protocol.malformed", "the WebSocket upgrade request is invalid"),
      );
    }
    return undefined;
  };

  return {
    fetch(req, server) {
      // Cheap prefix test before any URL parsing: most admin requests are not ours.
      const url = new URL(req.url);
      if (!url.pathname.startsWith(PREFIX)) return undefined;
      return handle(req, server, url);
    },
    websocket: websocketHandler,
    get sessions() {
      return pool.size;
    },
    async close() {
      closing = true;
      await pool.closeAll("shutdown");
    },
  };
}

function addressOf(server: Server<WsData>, req: Request): string {
  const ip = server.requestIP(req);
  if (!ip) return "unknown";
  return ip.family === "IPv6" ? `[${ip.address}]:${ip.port}` : `${ip.address}:${ip.port}`;
}
