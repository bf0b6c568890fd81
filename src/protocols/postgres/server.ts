// The PostgreSQL listener: accepts clients, keeps the live sessions, enforces idle and absolute session
// limits with one sweep a second, and drains on shutdown.
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { ConnectionInfo, Gateway } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { type Address, type Listener, listen } from "../../net/listen.ts";
import { CancelRegistry, type CancelWorkers } from "./cancel-registry.ts";
import { watchCatalogVersion } from "./catalog-version.ts";
import { type CatalogConnection, ColumnCatalog } from "./column-catalog.ts";
import {
  type ClassificationView,
  ConnectionClassification,
  DEFAULT_CLASSIFICATION,
} from "./connection-classification.ts";
import { ResultMasking } from "./result-masking.ts";
import { ClientSession } from "./session.ts";
import type { AgentTimeouts } from "./startup-limits.ts";
import { StatementResolver } from "./statement-resolver.ts";
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
  /** Connections whose catalog state (classification scan) starts with the server, not at first session. */
  connections?: readonly ConnectionInfo<PostgresTarget>[];
  /** One of several worker processes: cancel keys name their worker, others' keys are forwarded. */
  workers?: CancelWorkers;
}

export interface PostgresServer {
  readonly port: number;
  readonly sessions: number;
  /** Stops accepting; ends live sessions with `reason` after giving them `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** What the connection knows of its sensitive columns (configured labels, last scan); null: unknown connection. */
  classification(connection: string): ClassificationView | null;
  /** Runs the classification scan of a connection now and returns the result. */
  classify(connection: string): Promise<ClassificationView | null>;
  /** A CancelRequest key another worker forwarded here; true when it matched a live session. */
  cancelForwarded(pid: number, secret: number): boolean;
}

export function startPostgresServer(opts: PostgresServerOptions): PostgresServer {
  const live = new Set<ClientSession>();
  const authTimeoutMs = opts.authTimeoutMs ?? 30_000;
  const cancels = new CancelRegistry(opts.workers ?? null);
  // One catalog state per connection, shared by its sessions: result shapes and column sources, statement
  // resolutions, and what is known of its sensitive columns (labels and scan findings).
  const states = new Map<string, ConnectionState>();
  const engine = opts.masking;
  const stateFor = (connection: ConnectionInfo<PostgresTarget>): ConnectionState => {
    let state = states.get(connection.name);
    if (!state) {
      state = connectionState(connection, engine ?? null, opts);
      states.set(connection.name, state);
      state.classification.start();
    }
    return state;
  };
  for (const c of opts.connections ?? []) stateFor(c);
  const sessionOptions = {
    masking: engine ? (c: ConnectionInfo<PostgresTarget>) => stateFor(c).masking! : undefined,
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
    classification(name) {
      return states.get(name)?.classification.view() ?? null;
    },
    cancelForwarded: (pid, secret) => cancels.cancelHere(pid, secret),
    async classify(name) {
      const state = states.get(name);
      if (!state) return null;
      await state.classification.scanNow();
      return state.classification.view();
    },
    async stop(graceMs = 0) {
      listener.stop();
      clearInterval(sweep);
      const deadline = Date.now() + graceMs;
      while (live.size && Date.now() < deadline) await Bun.sleep(50);
      for (const { catalog, classification, stopWatch } of states.values()) {
        stopWatch();
        classification.stop();
        catalog.close().catch(() => {});
      }
      for (const s of live)
        s.fail(
          new CustosError("gateway.shutting_down", "terminating connection: the gateway is shutting down"),
          "shutdown",
        );
    },
  };
}

/** How often each connection's catalog fingerprint is compared (catalog-version.ts). */
const CATALOG_POLL_MS = 5_000;

interface ConnectionState {
  catalog: ColumnCatalog;
  /** Stops the catalog version poll. */
  stopWatch: () => void;
  classification: ConnectionClassification;
  resolver: StatementResolver;
  /** Null when no masking engine is configured. */
  masking: ResultMasking | null;
}

function connectionState(
  connection: ConnectionInfo<PostgresTarget>,
  engine: MaskingEngine | null,
  opts: PostgresServerOptions,
): ConnectionState {
  const catalog = new ColumnCatalog(catalogConnection(connection.target));
  const gateway = opts.gateway;
  const changed = () => gateway.catalogChanged?.(connection.name);
  const resolver = new StatementResolver({
    sql: catalog.client,
    labels: { labelsOf: () => [] },
    onChange: changed,
  });
  const classification = new ConnectionClassification(
    connection.name,
    catalog.client,
    engine,
    connection.target.classification ?? DEFAULT_CLASSIFICATION,
    {
      changed: () => resolver.invalidate(),
      event: (type, data) => gateway.connectionEvent?.(connection.name, type, data),
      log: (message, data) => opts.logger.warn(message, data),
    },
  );
  resolver.labels = classification;
  const masking = engine ? new ResultMasking({ engine, catalog, resolver }) : null;
  const watch = watchCatalogVersion(catalog.client, CATALOG_POLL_MS, () => resolver.invalidate());
  return { catalog, classification, resolver, masking, stopWatch: watch.stop };
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
