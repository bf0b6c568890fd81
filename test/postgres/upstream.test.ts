// The gateway's own upstream client against a real PostgreSQL: every auth method, with and without TLS.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CustosError } from "../../src/core/errors.ts";
import type { PostgresTarget } from "../../src/protocols/postgres/target.ts";
import { connectUpstream } from "../../src/protocols/postgres/upstream.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

let pg: PgServer;
beforeAll(async () => {
  pg = await startPostgres({ ssl: true });
});
afterAll(() => pg.stop());

const secret = (s: string) => ({ reveal: () => s });

function target(role: keyof PgServer["roles"], tls: PostgresTarget["tls"] = "disable"): PostgresTarget {
  const r = pg.roles[role];
  return {
    host: pg.host,
    port: pg.port,
    database: pg.database,
    user: r.user,
    password: r.password ? secret(r.password) : undefined,
    tls,
  };
}

describe("connectUpstream", () => {
  for (const role of ["scram", "md5", "password", "trust"] as const) {
    for (const tls of ["disable", "require"] as const) {
      test(`${role} auth, tls ${tls}`, async () => {
        const link = await connectUpstream(target(role, tls), { application_name: "t" });
        expect(link.pid).toBeGreaterThan(0);
        expect(link.tls).toBe(tls === "require");
        expect(link.parameters.length).toBeGreaterThan(5);
        link.conn.destroy();
      });
    }
  }

  test("wrong password is upstream.auth_failed", async () => {
    const t = { ...target("scram"), password: secret("wrong") };
    const err = await connectUpstream(t, {}).catch((e) => e);
    expect(err).toBeInstanceOf(CustosError);
    expect(err.code).toBe("upstream.auth_failed");
    expect(JSON.stringify(err.detail)).not.toContain("wrong");
  });

  test("closed port is upstream.unreachable, quickly", async () => {
    const t = { ...target("trust"), port: 1 };
    const err = await connectUpstream(t, {}).catch((e) => e);
    expect(err.code).toBe("upstream.unreachable");
  });

  test("verify-full refuses a self-signed server certificate", async () => {
    const err = await connectUpstream(target("scram", "verify-full"), {}).catch((e) => e);
    expect(err).toBeInstanceOf(CustosError);
  });

  test("unknown database is reported without leaking the password", async () => {
    const t = { ...target("scram"), database: "nope" };
    const err = await connectUpstream(t, {}).catch((e) => e);
    expect(err.code).toBe("upstream.unreachable");
    expect(err.detail.sqlstate).toBe("3D000");
  });
});
