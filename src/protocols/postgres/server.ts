// The PostgreSQL listener: accepts clients, keeps the live sessions, enforces idle and absolute session
// limits with one sweep a second, and drains on shutdown.
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { ConnectionInfo, Gateway } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { type Address, type Listener, listen } from "../../net/listen.ts";
import { CancelRegistry } from "./cancel-registry.ts";
import { type CatalogConnection, ColumnCatalog } from "./column-catalog.ts";
import { ResultMasking } from "./result-masking.ts";
import { ClientSession } from "./session.ts";
import type { AgentTimeouts } from "./startup-limits.ts";
import type { PostgresTarget } from "./target.ts";

export interface PostgresServerOptions {
  listen: Address;
  gateway: Gateway;
  tls: { cert: string; key: string } | null;
  logger: Logger;
  /** Largest client message after authentication (a query, a Bind, a COPY chunk); default PostgreSQL's 1 GB. */
  maxClientMessage?: number;
  maxServerMessage?: number;
  /** Largest server message for a session whose results are masked (buffered whole); default 64 MiB. */
  maxMaskedServerMessage?: number;
  /** Bounds on agents' statement_timeout and idle_in_transaction_session_timeout (default 5 min, 1 min). */
  agentTimeouts?: AgentTimeouts;
  /** Masks result streams per the decisions' mask rules (issue 4); absent: nothing is masked. */
  masking?: MaskingEngine;
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
  // One masking state per connection: result shapes and column sources are shared by its sessions.
  const maskings = new Map<string, { masking: ResultMasking; catalog: ColumnCatalog }>();
  const maskingFor = (engine: MaskingEngine, connection: ConnectionInfo<PostgresTarget>): ResultMasking => {
    let entry = maskings.get(connection.name);
    if (!entry) {
      const catalog = new ColumnCatalog(catalogConnection(connection.target));
      entry = { masking: new ResultMasking({ engine, catalog }), catalog };
      maskings.set(connection.name, entry);
    }
    return entry.masking;
  };
  const engine = opts.masking;
  const sessionOptions = {
    masking: engine ? (c: ConnectionInfo<PostgresTarget>) => maskingFor(engine, c) : undefined,
    gateway: opts.gateway,
    cancels,
    tls: opts.tls,
    logger: opts.logger,
    maxClientMessage: opts.maxClientMessage ?? 1 << 30,
    maxServerMessage: opts.maxServerMessage ?? 1 << 30,
    maxMaskedServerMessage: opts.maxMaskedServerMessage ?? 64 << 20,
    agentTimeouts: opts.agentTimeouts ?? {
      statementTimeoutMs: 5 * 60_000,
      idleInTransactionTimeoutMs: 60_000,
    },
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
      for (const { catalog } of maskings.values()) catalog.close().catch(() => {});
      for (const s of live)
        s.fail(
          new CustosError("gateway.shutting_down", "terminating connection: the gateway is shutting down"),
          "shutdown",
        );
    },
  };
}

/** The catalog connection uses the connection's own upstream account, with the same TLS requirements. */
function catalogConnection(t: PostgresTarget): CatalogConnection {
  const tls =
    t.tls === "disable"
      ? false
      : t.tls === "verify-full"
        ? { ca: t.ca, rejectUnauthorized: true, servername: t.host }
        : t.tls === "require"
          ? { rejectUnauthorized: false }
          : false; // prefer: postgres.js has no "try TLS, fall back"; the catalog reads only names and OIDs
  return {
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password?.reveal() ?? "",
    database: t.database,
    tls,
  };
}
