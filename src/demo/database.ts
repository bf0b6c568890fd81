// The demo's embedded target database: PGlite holding the bank fixture, served over the PostgreSQL wire
// protocol on loopback so the gateway dials it like any production upstream.
//
// Why not PGLiteSocketServer: it runs each frontend message separately on the one PGlite backend, so two
// clients' Parse/Bind/Execute interleave on the shared unnamed statement and portal (measured: postgres.js,
// 8 connections, "bind message supplies 3 parameters, but prepared statement "" requires 0"). wire-server.ts
// instead hands the backend to one connection until it is back at ReadyForQuery 'I'.
// On the wire: SSLRequest/GSSENCRequest get 'N'; auth is cleartext password (or trust); one role and one
// database, both "postgres". Sessions are serialised, not concurrent: an open transaction makes the others
// wait (and is killed with 25P03 after idleInTransactionTimeoutMs if someone is waiting). SET, temp tables
// and SQL-level PREPARE are shared by all connections, as they share one backend.
import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import { PGlite } from "@electric-sql/pglite";
import { asCustosError, CustosError } from "../core/errors.ts";
import { createLogger, type Logger } from "../core/log.ts";
import { fixtureSql } from "./fixture.ts";
import { pgliteAssets } from "./pglite-assets.ts";
import { embeddedSnapshot, readSnapshot, snapshotPath, writeSnapshot } from "./snapshot.ts";
import { startWireServer } from "./wire-server.ts";

export interface DemoDatabaseOptions {
  /** Loopback only (127.0.0.1 by default): the demo database is reached by the gateway on this host. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Persistent PGlite directory; undefined keeps everything in memory. The fixture loads into a fresh one only. */
  dataDir?: string;
  /** In-memory mode: where to cache the loaded data directory so later starts skip initdb (~0.4 s vs ~4 s). */
  snapshotDir?: string;
  /** "password" (default): cleartext password on the wire, like an upstream with `password` in pg_hba. */
  auth?: "password" | "trust";
  /** Default: 24 random bytes, base64url, fresh on every start. */
  password?: string;
  /** Default 16; further clients get FATAL 53300. */
  maxConnections?: number;
  /** Default 10 s: an idle open transaction is terminated after this only if another session is waiting. */
  idleInTransactionTimeoutMs?: number;
  log?: Logger;
}

export interface DemoDatabase {
  host: string;
  port: number;
  user: string;
  /** Empty string in trust mode. A secret otherwise: never log it. */
  password: string;
  database: string;
  /** Milliseconds from call to listening, and whether the data came from a snapshot or an existing dataDir. */
  startup: { ms: number; source: "fresh" | "snapshot" | "data-dir" };
  stop(): Promise<void>;
}

// PGlite has exactly one role and one database, both named postgres; clients must ask for these.
const USER = "postgres";
const DATABASE = "postgres";
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export async function startDemoDatabase(opts: DemoDatabaseOptions = {}): Promise<DemoDatabase> {
  const started = performance.now();
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? 0;
  const log = opts.log ?? createLogger("warn");
  validate(opts, host, port);

  const { db, source } = await openDatabase(opts, log);
  const auth = opts.auth ?? "password";
  const password = auth === "trust" ? "" : (opts.password ?? randomBytes(24).toString("base64url"));
  let server: Awaited<ReturnType<typeof startWireServer>>;
  try {
    server = await startWireServer({
      db,
      host,
      port,
      user: USER,
      database: DATABASE,
      password: auth === "trust" ? undefined : password,
      maxConnections: opts.maxConnections ?? 16,
      idleInTransactionTimeoutMs: opts.idleInTransactionTimeoutMs ?? 10_000,
      log,
    });
  } catch (err) {
    await db.close();
    throw asCustosError(err);
  }
  const ms = Math.round(performance.now() - started);
  log.info("demo database listening", { host, port: server.port, source, ms, auth });

  let stopped: Promise<void> | undefined;
  return {
    host,
    port: server.port,
    user: USER,
    password,
    database: DATABASE,
    startup: { ms, source },
    stop: () => {
      stopped ??= server.stop().then(async () => {
        await db.close();
        log.debug("demo database closed");
      });
      return stopped;
    },
  };
}

function validate(opts: DemoDatabaseOptions, host: string, port: number): void {
  if (!LOOPBACK.has(host) && !(isIP(host) === 4 && host.startsWith("127."))) {
    throw new CustosError("config.invalid", `demo database host must be a loopback address, got ${host}`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CustosError("config.invalid", `demo database port must be 0-65535, got ${port}`);
  }
  if (opts.dataDir !== undefined && opts.snapshotDir !== undefined) {
    throw new CustosError("config.invalid", "demo database takes dataDir or snapshotDir, not both");
  }
  if (opts.password !== undefined && (opts.password.length === 0 || opts.password.includes("\0"))) {
    throw new CustosError("config.invalid", "demo database password must be non-empty and contain no NUL");
  }
  const limits = [opts.maxConnections, opts.idleInTransactionTimeoutMs];
  if (limits.some((n) => n !== undefined && (!Number.isInteger(n) || n < 1))) {
    throw new CustosError("config.invalid", "demo database limits must be positive integers");
  }
}

async function openDatabase(
  opts: DemoDatabaseOptions,
  log: Logger,
): Promise<{ db: PGlite; source: DemoDatabase["startup"]["source"] }> {
  const sql = fixtureSql();
  if (opts.dataDir !== undefined) {
    const db = await PGlite.create({ ...(await pgliteAssets()), dataDir: opts.dataDir });
    const loaded = await db.query("select to_regclass('public.customers') is not null as loaded");
    if ((loaded.rows[0] as { loaded?: boolean } | undefined)?.loaded) return { db, source: "data-dir" };
    await loadFixture(db, sql);
    return { db, source: "fresh" };
  }
  const cachePath = opts.snapshotDir === undefined ? undefined : snapshotPath(opts.snapshotDir, sql);
  // The executable carries the snapshot scripts/build-binary made, so even its first demo skips initdb.
  const snapshot = cachePath
    ? ((await readSnapshot(cachePath)) ?? (await embeddedSnapshot(cachePath)))
    : undefined;
  if (snapshot) {
    try {
      return {
        db: await PGlite.create({ ...(await pgliteAssets()), loadDataDir: snapshot }),
        source: "snapshot",
      };
    } catch (err) {
      log.warn("demo database snapshot unusable, rebuilding", { path: cachePath, error: String(err) });
    }
  }
  const db = await PGlite.create(await pgliteAssets());
  await loadFixture(db, sql);
  if (cachePath && opts.snapshotDir) {
    // A cache that cannot be written costs the next start a few seconds; it must not stop this one.
    await writeSnapshot(db, cachePath, opts.snapshotDir).catch((err) =>
      log.warn("demo database snapshot not written", { path: cachePath, error: String(err) }),
    );
  }
  return { db, source: "fresh" };
}

async function loadFixture(db: PGlite, sql: string): Promise<void> {
  try {
    await db.exec(sql);
  } catch (err) {
    await db.close();
    throw new CustosError("internal", `demo fixture failed to load: ${asCustosError(err).message}`);
  }
}
