// The idle-session client against a real PostgreSQL (its cleartext-password role stands in for the
// gateway's token login), and RSS reading from /proc.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort } from "../../test/support/free-port.ts";
import { type PgServer, startPostgres } from "../../test/support/postgres.ts";
import { openIdleSession, openIdleSessions, rssKb, sampleRss } from "./memory.ts";
import type { Endpoint } from "./targets.ts";

let pg: PgServer;
let ep: Endpoint;
beforeAll(async () => {
  pg = await startPostgres();
  ep = {
    name: "direct",
    port: pg.port,
    database: pg.database,
    user: pg.roles.password.user,
    password: pg.roles.password.password,
  };
});
afterAll(() => pg?.stop());

const backends = () =>
  Number(pg.sql(`SELECT count(*) FROM pg_stat_activity WHERE usename = '${pg.roles.password.user}'`).trim());

describe("idle sessions", () => {
  test("opens N authenticated sessions that stay open until closed", async () => {
    const open = await openIdleSessions(ep, 12, 4);
    expect(open.length).toBe(12);
    expect(backends()).toBe(12);
    for (const s of open) s.close();
    for (let i = 0; i < 50 && backends() > 0; i++) await Bun.sleep(100);
    expect(backends()).toBe(0);
  });

  test("a wrong password is a clear error naming the target", async () => {
    await expect(openIdleSession({ ...ep, password: "wrong" })).rejects.toThrow(
      /idle session to direct: server answered with an ErrorResponse/,
    );
  });

  test("an unsupported authentication method is refused, not hung on", async () => {
    await expect(
      openIdleSession({ ...ep, user: pg.roles.scram.user, password: pg.roles.scram.password }),
    ).rejects.toThrow(/unsupported authentication sasl/);
  });

  test("nothing listening is a clear error", async () => {
    await expect(openIdleSession({ ...ep, port: await freePort() })).rejects.toThrow(
      /idle session to direct/,
    );
  });

  test("a failure part-way closes the sessions already opened", async () => {
    const bad = { ...ep, database: "no_such_db" };
    await expect(openIdleSessions(bad, 3, 1)).rejects.toThrow(/ErrorResponse/);
    expect(backends()).toBe(0);
  });
});

describe("rss", () => {
  test("reads this process's RSS and NaN for a process that does not exist", () => {
    expect(rssKb(process.pid)).toBeGreaterThan(1000);
    expect(rssKb(2 ** 22 + 12345)).toBeNaN();
    const s = sampleRss(process.pid, 10);
    expect(s.stop()).toBeGreaterThan(1000);
  });
});
