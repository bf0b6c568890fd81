// The PostgreSQL listener: accepts clients, keeps the live sessions, enforces idle and absolute session
// limits with one sweep a second, and drains on shutdown.
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Gateway } from "../../core/session.ts";
import { type Address, type Listener, listen } from "../../net/listen.ts";
import { CancelRegistry } from "./cancel-registry.ts";
import { ClientSession } from "./session.ts";

export interface PostgresServerOptions {
  listen: Address;
  gateway: Gateway;
  tls: { cert: string; key: string } | null;
  logger: Logger;
  /** Largest client message accepted (a query text, a COPY chunk); PostgreSQL's own limit is 1 GB. */
  maxClientMessage?: number;
  maxServerMessage?: number;
  /** A client must complete startup and authentication within this (default 30 s). */
  authTimeoutMs?: number;
}

export interface PostgresServer {
  readonly port: number;
  readonly sessions: number;
  /** Stops accepting; ends live sessions with `reason` after giving them `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function startPostgresServer(opts: PostgresServerOptions): PostgresServer {
  const live = new Set<ClientSession>();
  const authTimeoutMs = opts.authTimeoutMs ?? 30_000;
  const cancels = new CancelRegistry();
  const sessionOptions = {
    gateway: opts.gateway,
    cancels,
    tls: opts.tls,
    logger: opts.logger,
    maxClientMessage: opts.maxClientMessage ?? 64 << 20,
    maxServerMessage: opts.maxServerMessage ?? 1 << 30,
  };
  const listener: Listener = listen(opts.listen, (conn) => {
    live.add(new ClientSession(conn, sessionOptions, (s) => live.delete(s)));
  });

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const s of live) {
      const limits = s.limits;
      if (!limits) {
        // Like PostgreSQL's authentication_timeout: a client that never finishes logging in is dropped.
        if (now - s.startedAt >= authTimeoutMs) {
          s.fail(new CustosError("protocol.malformed", "authentication timeout"), "auth_timeout");
        }
        continue;
      }
      if (now - s.startedAt >= limits.maxSessionMs) {
        s.fail(
          new CustosError("session.max_duration", "terminating connection: maximum session duration reached"),
          "max_duration",
        );
      } else if (s.idleFor(now) >= limits.idleTimeoutMs) {
        s.fail(
          new CustosError("session.idle_timeout", "terminating connection due to idle-session timeout"),
          "idle_timeout",
        );
      }
    }
  }, 1000);
  sweep.unref();

  return {
    port: listener.port,
    get sessions() {
      return live.size;
    },
    async stop(graceMs = 0) {
      listener.stop();
      clearInterval(sweep);
      const deadline = Date.now() + graceMs;
      while (live.size && Date.now() < deadline) await Bun.sleep(50);
      for (const s of live)
        s.fail(
          new CustosError("gateway.shutting_down", "terminating connection: the gateway is shutting down"),
          "shutdown",
        );
    },
  };
}
