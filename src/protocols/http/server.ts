// The HTTP gateway mounted on the gateway's HTTP listener: `/c/<name>/<path>` reaches connection <name>.
// It routes, authenticates through the session pool, and hands each request to exchange.ts (or, for a
// WebSocket upgrade, to websocket.ts). Every failure becomes a problem+json response (wire-error.ts).
import type { Server, SocketAddress } from "bun";
import { nowMicros } from "../../core/clock.ts";
import { deny } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Gateway } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { FieldPlans } from "../../masking/field-plans.ts";
import { jsonMasker } from "../../masking/json-mask.ts";
import { listedType } from "./content-kind.ts";
import { exchange, malformed, refuse } from "./exchange.ts";
import { bearerToken, type ClientOrigin } from "./headers.ts";
import { InFlight } from "./in-flight.ts";
import { commandFor, prepareRequest, shapeOf } from "./request.ts";
import type { ResponseMasking } from "./response.ts";
import { type Scrubber, scrubberFor } from "./scrub.ts";
import { RequestHold, SessionPool } from "./sessions.ts";
import { applyInjection, type HttpTarget } from "./target.ts";
import { attachUpstream, connectUpstream, type WsData, websocketHandler } from "./websocket.ts";
import { problemResponse } from "./wire-error.ts";

export interface HttpGatewayOptions {
  gateway: Gateway;
  masking: MaskingEngine;
  logger: Logger;
  /** Whether the listener is TLS (X-Forwarded-Proto and Forwarded say so). */
  tls?: boolean;
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
  // Each connection's credential forms are computed once (its target object lives as long as the config).
  const scrubbers = new WeakMap<object, Scrubber | null>();
  const scrubber = (target: HttpTarget): Scrubber | null => {
    let s = scrubbers.get(target);
    if (s === undefined) {
      s = scrubberFor(target.inject);
      scrubbers.set(target, s);
    }
    return s;
  };
  const inFlight = new InFlight();
  const ctx = { masking: opts.masking, logger: opts.logger, scrubber, inFlight };
  let closing = false;

  const handle = async (
    req: Request,
    server: Server<WsData>,
    pathname: string,
    search: string,
  ): Promise<Response | undefined> => {
    const after = pathname.slice(PREFIX.length);
    const slash = after.indexOf("/");
    const rawName = slash === -1 ? after : after.slice(0, slash);
    const rest = slash === -1 ? "" : after.slice(slash);
    // One native requestIP() call for both: it costs about a microsecond under load.
    const ip = server.requestIP(req);
    const clientAddr = addressOf(ip);
    const origin: ClientOrigin | null = ip ? { ip: ip.address, proto: opts.tls ? "https" : "http" } : null;
    let name: string;
    try {
      name = decodeURIComponent(rawName);
    } catch {
      return problemResponse(
        new CustosError("protocol.malformed", "the connection name is not valid percent-encoding"),
      );
    }
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
    let pooled = pool.ready(name, clientAddr, token);
    if (pooled === null) {
      const got = await pool.acquire(name, clientAddr, token, null);
      if (!got.ok) return problemResponse(got.error);
      pooled = got.pooled;
    }
    const hold = new RequestHold(pooled);
    try {
      if (!pooled.session.recordable()) {
        hold.release();
        return problemResponse(
          new CustosError("audit.unavailable", "audit store unavailable: requests are refused"),
        );
      }
      if (req.headers.get("upgrade")?.toLowerCase() === "websocket")
        return await upgrade(req, server, hold, name, rest, search, origin);
      return await exchange(ctx, req, hold, name, rest, search, origin);
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
    origin: ClientOrigin | null,
  ) => {
    const started = nowMicros();
    const session = hold.pooled.session;
    const target = session.connection.target;
    const prepared = prepareRequest(req, target, rest, search, origin);
    if (!prepared.ok) return malformed(hold, req, rest, search, started, prepared.error);
    const up = prepared.request;
    const { command, http } = commandFor(up);
    http.websocket = "upgrade";
    // Part of the decision's cache key: an upgrade is never decided by a plain GET's cached decision.
    command.shape = shapeOf(http);
    let decision = await session.decide(command);
    session.record({
      t: started,
      dir: "client",
      kind: "upgrade",
      data: { path: up.path, query: up.search },
    });
    // A masked identity's messages are masked; a decision whose rules cannot be built refuses the socket.
    let masking: ResponseMasking | null = null;
    if (decision.action === "allow" && decision.mask.length > 0) {
      try {
        const json = jsonMasker(opts.masking, decision.mask);
        masking = { json, plans: new FieldPlans(opts.masking, decision.mask, json.evidence) };
      } catch (err) {
        decision = deny(err instanceof Error ? err.message : String(err), "custos.mask_unavailable");
      }
    }
    if (decision.action !== "allow") return refuse(hold, command, decision, started);
    if (decision.record === "sync") await session.durable();
    const url = new URL(`${target.url}${up.path}${up.search}`);
    const headers = up.headers;
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
      masking,
      scrubber: scrubber(target),
      unmaskedBinary: listedType("application/octet-stream", target.relay.unmaskedTypes),
      pending: Promise.resolve(),
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
      // req.url as Bun parsed the request line (WHATWG rules applied); the path is read without a second
      // URL parse so nothing is normalised twice.
      const u = req.url;
      const at = u.indexOf("/", u.indexOf("//") + 2);
      const q = u.indexOf("?", at);
      const pathname = at === -1 ? "/" : q === -1 ? u.slice(at) : u.slice(at, q);
      if (!pathname.startsWith(PREFIX)) return undefined;
      return handle(req, server, pathname, q === -1 ? "" : u.slice(q));
    },
    websocket: websocketHandler,
    get sessions() {
      return pool.size;
    },
    async close() {
      closing = true;
      await pool.closeAll("shutdown");
      inFlight.close();
    },
  };
}

function addressOf(ip: SocketAddress | null): string {
  if (!ip) return "unknown";
  return ip.family === "IPv6" ? `[${ip.address}]:${ip.port}` : `${ip.address}:${ip.port}`;
}
