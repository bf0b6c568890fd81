// A gateway session per client TCP connection and token: kubectl keeps a connection alive across its
// requests, so the first request on it authenticates (session.start) and the following ones are commands
// of the same session while they present the same token and the identity has not expired. The session
// ends when the connection closes (an exec stream's session lasts as long as its socket).
import type { Socket } from "node:net";
import type { CustosError } from "../../core/errors.ts";
import type { Gateway, GatewaySession, SessionStats, TlsInfo } from "../../core/session.ts";
import type { KubernetesTarget } from "./target.ts";

export interface KubeSession {
  readonly session: GatewaySession<KubernetesTarget>;
  readonly stats: SessionStats;
  terminated: CustosError | null;
}

type Opened = { ok: true; entry: KubeSession } | { ok: false; error: CustosError };

interface PerSocket {
  byKey: Map<string, Promise<Opened>>;
}

export class SocketSessions {
  private readonly sockets = new Map<Socket, PerSocket>();
  private closing = false;

  constructor(private readonly gateway: Gateway) {}

  get size(): number {
    return this.sockets.size;
  }

  acquire(socket: Socket, connection: string, credential: string, tls: TlsInfo | null): Promise<Opened> {
    let per = this.sockets.get(socket);
    if (!per) {
      const created: PerSocket = { byKey: new Map() };
      per = created;
      this.sockets.set(socket, created);
      socket.once("close", () => {
        this.sockets.delete(socket);
        void this.closeAll(created, "client");
      });
    }
    const key = `${connection}\u0000${credential}`;
    const existing = per.byKey.get(key);
    if (existing) {
      return existing.then((o) => {
        if (!o.ok) return o;
        if (o.entry.terminated) return { ok: false as const, error: o.entry.terminated };
        if (Date.now() < o.entry.session.identity.expiresAt && o.entry.session.recordable()) return o;
        // Expired: close it and authenticate the token again (which fails if the token expired).
        per.byKey.delete(key);
        void o.entry.session.close("expired", o.entry.stats);
        return this.acquire(socket, connection, credential, tls);
      });
    }
    const clientAddr = `${socket.remoteAddress ?? "unknown"}:${socket.remotePort ?? 0}`;
    const opening = this.gateway
      .open<KubernetesTarget>({ protocol: "kubernetes", clientAddr, credential, user: "", connection, tls })
      .then((r): Opened => {
        if (!r.ok) {
          per.byKey.delete(key);
          return r;
        }
        const entry: KubeSession = {
          session: r.session,
          stats: { bytesFromClient: 0, bytesToClient: 0, commands: 0 },
          terminated: null,
        };
        r.session.onTerminate((reason) => {
          entry.terminated = reason;
          // The gateway ended it (grant expiry, shutdown, store failure): so does the connection.
          socket.destroy();
        });
        if (this.closing) socket.destroy();
        return { ok: true, entry };
      });
    per.byKey.set(key, opening);
    return opening;
  }

  /** Every connection's sessions end (shutdown). */
  async closeEvery(reason: string): Promise<void> {
    this.closing = true;
    const all = [...this.sockets];
    this.sockets.clear();
    await Promise.all(
      all.map(async ([socket, per]) => {
        await this.closeAll(per, reason);
        socket.destroy();
      }),
    );
  }

  private async closeAll(per: PerSocket, reason: string): Promise<void> {
    const opened = [...per.byKey.values()];
    per.byKey.clear();
    for (const o of await Promise.all(opened)) if (o.ok) await o.entry.session.close(reason, o.entry.stats);
  }
}
