// The driver matrix's shared set-up: one real PostgreSQL (TLS on), the loopback OIDC issuer and a test
// gateway; each driver's probe program runs twice, DIRECT against PostgreSQL and THROUGH THE GATEWAY as a
// human the shipped policy lets do anything, so only protocol fidelity differs between the two runs.
// Probes print one JSON object (feature → observed value) as their last stdout line.
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

export interface DriverDeps {
  PYTHON: string;
  JDBC_CLASSPATH: string;
  GOMODCACHE: string;
  GOCACHE: string;
  PGX_PROBE: string;
}

/** Runs scripts/setup-driver-deps (cached outside the clone; warm in well under a second). */
export function driverDeps(): DriverDeps {
  const root = new URL("../..", import.meta.url).pathname;
  const proc = Bun.spawnSync(["sh", `${root}scripts/setup-driver-deps`], { stdout: "pipe", stderr: "pipe" });
  if (proc.exitCode !== 0) throw new Error(`setup-driver-deps failed: ${proc.stderr.toString()}`);
  const deps: Record<string, string> = {};
  for (const line of proc.stdout.toString().split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) deps[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return deps as unknown as DriverDeps;
}

/** Where a probe connects: the same database, role and features, by two routes. */
export interface Target {
  route: "direct" | "gateway";
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** postgres:// URL without sslmode. */
  url: string;
}

export interface Matrix {
  db: PgServer;
  issuer: OidcIssuer;
  gw: TestGateway;
  direct(): Target;
  /** A fresh human token each call (tokens live five minutes). */
  gateway(groups?: string[]): Promise<Target>;
  stop(): Promise<void>;
}

export const FIXTURE_ROWS = 500;

export async function startMatrix(): Promise<Matrix> {
  const [db, issuer] = await Promise.all([startPostgres({ ssl: true }), startOidcIssuer()]);
  const gw = await startTestGateway({ pg: db, issuer });
  // Fixture read by every probe: values of many types, so a round trip that alters one shows.
  db.sql(
    `CREATE TABLE drv_items (id int PRIMARY KEY, name text NOT NULL, amount numeric(12,2), created timestamptz,
       data bytea, tags text[], doc jsonb);
     INSERT INTO drv_items SELECT g, 'item ' || g || ' é€', g * 1.25, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 hour',
       decode(md5(g::text), 'hex'), ARRAY['t' || g, 'x'], jsonb_build_object('n', g, 's', 'v' || g)
       FROM generate_series(1, ${FIXTURE_ROWS}) g`,
    "ledger",
  );
  const direct = (): Target => ({
    route: "direct",
    host: db.host,
    port: db.port,
    user: db.roles.scram.user,
    password: db.roles.scram.password,
    database: db.database,
    url: db.url(),
  });
  const gateway = async (groups = ["dba"]): Promise<Target> => {
    const token = await gw.token("driver-matrix@bank.example", groups);
    return {
      route: "gateway",
      host: "127.0.0.1",
      port: gw.port,
      user: "driver-matrix",
      password: token,
      database: "ledger",
      url: `postgres://driver-matrix:${encodeURIComponent(token)}@127.0.0.1:${gw.port}/ledger`,
    };
  };
  return {
    db,
    issuer,
    gw,
    direct,
    gateway,
    async stop() {
      await gw.stop();
      await Promise.all([db.stop(), issuer.stop()]);
    },
  };
}

/** The probe's environment: libpq-style PG* variables plus the target as JSON. */
export function targetEnv(t: Target): Record<string, string> {
  return {
    PGHOST: t.host,
    PGPORT: String(t.port),
    PGUSER: t.user,
    PGPASSWORD: t.password,
    PGDATABASE: t.database,
    PGSSLMODE: "disable",
    PGCONNECT_TIMEOUT: "10",
    PROBE_URL: t.url,
    PROBE_TARGET: JSON.stringify(t),
  };
}

export type Observed = Record<string, unknown>;

/**
 * Spawns a probe asynchronously (the gateway runs in this process: a blocking spawn would deadlock it) and
 * parses its last stdout line. A probe that hangs is killed after `timeoutMs` and reported as such.
 */
export async function runProbe(
  cmd: string[],
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<Observed> {
  const proc = Bun.spawn(cmd, { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill(), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  const last = stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as Observed;
  } catch {
    throw new Error(
      `probe ${cmd.join(" ")} exited ${code}${proc.signalCode ? ` (${proc.signalCode})` : ""}:\n${stdout}\n${stderr}`,
    );
  }
}

/** The features every probe reports, in the order of the report's client × feature table. */
export const FEATURES = [
  "connect",
  "simple",
  "extended",
  "pipeline",
  "copy",
  "cursor",
  "large_object",
  "cancel",
  "notify",
  "tls",
  "startup",
  "errors",
  "pid",
] as const;

export interface DriverSuite {
  /** Runs the client's probe against one target. */
  probe(t: Target, m: Matrix): Promise<Observed>;
  /** What PostgreSQL itself must show for each feature (checked on the DIRECT run, so a probe cannot be vacuous). */
  direct: Record<string, unknown>;
  /**
   * Features a defect being fixed elsewhere still breaks through the gateway: feature → the issue item and the
   * branch expected to turn it green. Only documentation for the report; the test itself is not relaxed.
   */
  pendingOn?: Record<string, string>;
  /**
   * Features where the gateway deliberately differs (a documented choice): what it must show instead of the
   * direct observation.
   */
  gatewayExpected?: Record<string, unknown>;
}

/**
 * One describe per client: the probe runs direct, then through the gateway as a human allowed everything; each
 * feature is one test asserting PostgreSQL's expected value on the direct run and an identical observation
 * through the gateway.
 */
export function describeDriver(
  client: string,
  suite: DriverSuite,
  hooks: {
    describe: typeof import("bun:test").describe;
    test: typeof import("bun:test").test;
    expect: typeof import("bun:test").expect;
    beforeAll: typeof import("bun:test").beforeAll;
    afterAll: typeof import("bun:test").afterAll;
  },
) {
  const { describe, test, expect, beforeAll, afterAll } = hooks;
  let m: Matrix | undefined;
  let direct: Observed = {};
  let through: Observed = {};
  describe(`${client}: direct vs through the gateway`, () => {
    beforeAll(async () => {
      m = await startMatrix();
      direct = await suite.probe(m.direct(), m);
      through = await suite.probe(await m.gateway(), m);
    }, 240_000);
    afterAll(async () => {
      await m?.stop();
    });
    for (const feature of Object.keys(suite.direct)) {
      const pending = suite.pendingOn?.[feature];
      test(`${feature}${pending ? ` [pending: ${pending}]` : ""}`, () => {
        expect(direct[feature]).toEqual(suite.direct[feature]);
        if (suite.gatewayExpected && feature in suite.gatewayExpected) {
          expect(through[feature]).toEqual(suite.gatewayExpected[feature]);
        } else {
          expect(through[feature]).toEqual(direct[feature]);
        }
      });
    }
  });
}
