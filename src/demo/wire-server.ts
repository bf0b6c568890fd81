// Serves one PGlite instance over TCP to ordinary PostgreSQL clients (psql, postgres.js, the gateway), one
// session at a time on the backend (see backend-gate.ts), many connections open at once.
import { createServer, type Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import { CustosError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { BackendGate } from "./backend-gate.ts";
import { endWith, serveConnection } from "./wire-connection.ts";
import { fatalError } from "./wire-messages.ts";

export interface WireServerOptions {
  db: PGlite;
  host: string;
  /** 0 picks a free port. */
  port: number;
  user: string;
  database: string;
  /** undefined: trust. Otherwise clients must send this as a cleartext password. */
  password: string | undefined;
  maxConnections: number;
  idleInTransactionTimeoutMs: number;
  log: Logger;
}

export interface WireServer {
  host: string;
  port: number;
  connections(): number;
  /** Closes the listener and every connection; does not close the PGlite instance. */
  stop(): Promise<void>;
}

export async function startWireServer(opts: WireServerOptions): Promise<WireServer> {
  const gate = new BackendGate();
  const open = new Map<Socket, Promise<void>>();
  // Every accepted socket, refused ones too: a socket we ended may linger half-closed and hold server.close().
  const accepted = new Set<Socket>();
  let stopping = false;
  let nextId = 1;
  const ctx = {
    db: opts.db,
    gate,
    user: opts.user,
    database: opts.database,
    password: opts.password,
    idleInTransactionTimeoutMs: opts.idleInTransactionTimeoutMs,
    stopping: () => stopping,
    log: opts.log,
  };

  const server = createServer((socket) => {
    if (stopping) return socket.destroy();
    accepted.add(socket);
    socket.once("close", () => accepted.delete(socket));
    if (open.size >= opts.maxConnections) {
      endWith(socket, fatalError("53300", "sorry, too many clients already"));
      return;
    }
    const id = nextId++;
    const done = serveConnection(socket, id, ctx).finally(() => open.delete(socket));
    open.set(socket, done);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) =>
      reject(
        new CustosError(
          "config.invalid",
          `demo database cannot listen on ${opts.host}:${opts.port}: ${err.message}`,
        ),
      ),
    );
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === "string")
    throw new CustosError("internal", "demo database has no TCP address");

  return {
    host: opts.host,
    port: address.port,
    connections: () => open.size,
    stop: async () => {
      if (stopping) return;
      stopping = true;
      const closedListener = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of accepted) socket.destroy();
      await Promise.all([
        closedListener.then(() => opts.log.debug("demo listener closed")),
        ...open.values(),
      ]);
      opts.log.debug("demo connections drained");
    },
  };
}
