// The Kubernetes API front: a TLS listener (the gateway's certificate, which `custos kubeconfig` embeds
// as the cluster CA) speaking HTTP/1.1 to kubectl. Plain requests go to exchange.ts, upgrades (exec,
// attach, port-forward) to stream.ts; both first pass route() and the caller's session. Every refusal is
// a metav1.Status, the API server's own error shape.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Gateway, TlsInfo } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { listenersShared } from "../../net/listen.ts";
import { exchange } from "./exchange.ts";
import { type Routed, route } from "./prepare.ts";
import { type KubeSession, SocketSessions } from "./sessions.ts";
import { streamUpgrade, writeRawError } from "./stream.ts";
import { errorStatus } from "./wire-error.ts";

export interface KubeServerOptions {
  gateway: Gateway;
  masking: MaskingEngine;
  logger: Logger;
  tls: { cert: string; key: string };
  host: string;
  port: number;
  /** Largest request head (limits.max_message bounds everything a client sends before a decision). */
  maxHeaderBytes: number;
}

export interface KubeServer {
  readonly port: number;
  stop(graceMs: number): Promise<void>;
}

export async function startKubeServer(opts: KubeServerOptions): Promise<KubeServer> {
  const sessions = new SocketSessions(opts.gateway);
  let closing = false;
  const ctx = { masking: opts.masking, logger: opts.logger };

  const begin = async (
    req: IncomingMessage,
  ): Promise<{ ok: true; routed: Routed; kube: KubeSession } | { ok: false; error: CustosError }> => {
    if (closing)
      return { ok: false, error: new CustosError("gateway.shutting_down", "the gateway is shutting down") };
    const routed = route(req);
    const socket = req.socket as TLSSocket;
    const clientAddr = `${socket.remoteAddress ?? "unknown"}:${socket.remotePort ?? 0}`;
    if (routed instanceof CustosError) {
      opts.gateway.reject("kubernetes", clientAddr, routed);
      return { ok: false, error: routed };
    }
    const got = await sessions.acquire(socket, routed.connection, routed.token, tlsInfo(socket));
    if (!got.ok) return { ok: false, error: got.error };
    if (!got.entry.session.recordable())
      return {
        ok: false,
        error: new CustosError("audit.unavailable", "audit store unavailable: requests are refused"),
      };
    return { ok: true, routed, kube: got.entry };
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      try {
        const b = await begin(req);
        if (!b.ok) {
          req.resume();
          return sendStatus(res, b.error);
        }
        await exchange(ctx, req, res, b.routed, b.kube);
      } catch (err) {
        const e = err instanceof CustosError ? err : new CustosError("internal", "request failed");
        opts.logger.error("kubernetes request failed", { code: e.code, error: String(err) });
        if (!res.headersSent) sendStatus(res, e);
        else res.destroy();
      }
    })();
  };

  const onUpgrade = (req: IncomingMessage, socket: Socket, head: Buffer) => {
    void (async () => {
      try {
        const b = await begin(req);
        if (!b.ok) return writeRawError(socket, b.error);
        await streamUpgrade(ctx, req, socket, head, b.routed, b.kube);
      } catch (err) {
        const e = err instanceof CustosError ? err : new CustosError("internal", "upgrade failed");
        opts.logger.error("kubernetes upgrade failed", { code: e.code, error: String(err) });
        writeRawError(socket, e);
      }
    })();
  };

  const server: Server = createServer(
    { cert: opts.tls.cert, key: opts.tls.key, maxHeaderSize: opts.maxHeaderBytes },
    onRequest,
  );
  server.on("upgrade", onUpgrade);
  server.on("clientError", (err: Error, socket: Socket) => {
    opts.gateway.reject(
      "kubernetes",
      `${socket.remoteAddress ?? "unknown"}:${socket.remotePort ?? 0}`,
      new CustosError("protocol.malformed", `malformed HTTP request: ${err.message}`),
    );
    if (socket.writable)
      writeRawError(socket, new CustosError("protocol.malformed", "malformed HTTP request"));
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: opts.port, host: opts.host, reusePort: listenersShared() }, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : opts.port;
  return {
    port,
    async stop(graceMs) {
      closing = true;
      server.close();
      await new Promise((r) => setTimeout(r, Math.min(graceMs, 100)));
      await sessions.closeEvery("shutdown");
    },
  };
}

function tlsInfo(socket: TLSSocket): TlsInfo | null {
  const cipher = typeof socket.getCipher === "function" ? socket.getCipher() : null;
  const protocol = typeof socket.getProtocol === "function" ? socket.getProtocol() : null;
  return { protocol: protocol ?? null, cipher: cipher?.name ?? null };
}

function sendStatus(res: ServerResponse, err: CustosError): void {
  const { status, body } = errorStatus(err);
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  };
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="custos"';
  res.writeHead(status, headers);
  res.end(body);
}
