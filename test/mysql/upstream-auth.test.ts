// The upstream leg's own login against a real MariaDB, by effect: the gateway logs in as an account of
// MariaDB's ed25519 plugin (client_ed25519, loaded with INSTALL SONAME from Debian's mariadb-server), the
// statements run as that account (CURRENT_USER() written by the server itself and read back directly),
// a wrong password and a plugin the gateway does not speak are refused in MySQL's terms and the gateway
// keeps serving, and no password appears in anything the client received, the logs or the audit log.
// caching_sha2_password upstream cannot be exercised here: MariaDB has no server side for it and no
// MySQL 8 server is installable (HARNESS.md); its scramble and refusals are unit-tested in
// src/protocols/mysql/upstream-auth.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { openStore } from "../../src/audit/store.ts";
import { allEvents } from "../support/audit-read.ts";
import { haveMariaDb } from "../support/mariadb.ts";
import { type MysqlHarness, mariadbCli, startMysqlHarness } from "./support.ts";

const WRONG = "not-the-ed-pass-4e1a";
const OLD_PASSWORD = "old-scheme-pass-77b0";

let h: MysqlHarness;
let human: string;

beforeAll(async () => {
  h = await startMysqlHarness({}, [
    { name: "loans_ed", user: "custos_ed" },
    { name: "loans_ed_plain", user: "custos_ed", tls: "disable" },
    { name: "loans_ed_wrong", user: "custos_ed", password: WRONG },
    { name: "loans_old", user: "custos_old", password: OLD_PASSWORD },
  ]);
  // The gateway dials upstream per client session, so the accounts can be made after it started.
  const oldHash = (await h.db.sql(`SELECT OLD_PASSWORD('${OLD_PASSWORD}')`)).trim();
  await h.db.sql(`
    INSTALL SONAME 'auth_ed25519';
    SET GLOBAL secure_auth = 0; -- else MariaDB refuses the old-format account before switching to its plugin
    CREATE USER 'custos_ed'@'127.0.0.1' IDENTIFIED VIA ed25519 USING PASSWORD('${h.db.password}');
    GRANT ALL ON loans.* TO 'custos_ed'@'127.0.0.1';
    CREATE USER 'custos_old'@'127.0.0.1' IDENTIFIED VIA mysql_old_password USING '${oldHash}';
    GRANT ALL ON loans.* TO 'custos_old'@'127.0.0.1';
    CREATE TABLE who (id INT PRIMARY KEY, u VARCHAR(200) DEFAULT (CURRENT_USER()));
  `);
  human = await h.token("dana", ["dba"]);
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

const secrets = () => [h.db.password, WRONG, OLD_PASSWORD];
const via = (connection: string, sql: string) => mariadbCli(h.port, human, sql, ["-D", connection]);

describe.skipIf(!haveMariaDb())("mysql upstream authentication", () => {
  test("the account really uses ed25519 on the server", async () => {
    const plugin = await h.db.sql(
      "SELECT JSON_VALUE(Priv, '$.plugin') FROM mysql.global_priv WHERE User = 'custos_ed'",
    );
    expect(plugin.trim()).toBe("ed25519");
  });

  test("client_ed25519: the gateway logs in and statements run as the ed25519 account (read directly)", async () => {
    const r = await via("loans_ed", "select current_user() as u;\ninsert into who (id) values (1);");
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("custos_ed@127.0.0.1");
    expect((await h.db.sql("SELECT u FROM who WHERE id = 1")).trim()).toBe("custos_ed@127.0.0.1");
  });

  test("client_ed25519 over a plain upstream works too (a signature, the password never travels)", async () => {
    const r = await via("loans_ed_plain", "insert into who (id) values (2);");
    expect(r.stderr).toBe("");
    expect((await h.db.sql("SELECT u FROM who WHERE id = 2")).trim()).toBe("custos_ed@127.0.0.1");
  });

  test("a wrong ed25519 password is refused in MySQL's terms, nothing runs, the password is not shown", async () => {
    const r = await via("loans_ed_wrong", "insert into who (id) values (3);");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /ERROR 1105.*server refused the gateway's login: Access denied for user 'custos_ed'/,
    );
    expect((await h.db.sql("SELECT COUNT(*) FROM who WHERE id = 3")).trim()).toBe("0");
    for (const s of secrets()) expect(r.stdout + r.stderr).not.toContain(s);
  });

  test("an upstream AuthSwitch to a plugin the gateway does not speak fails closed, naming it", async () => {
    const r = await via("loans_old", "insert into who (id) values (4);");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /mysql_old_password authentication plugin, which the gateway does not speak upstream/,
    );
    expect((await h.db.sql("SELECT COUNT(*) FROM who WHERE id = 4")).trim()).toBe("0");
    for (const s of secrets()) expect(r.stdout + r.stderr).not.toContain(s);
  });

  test("the gateway keeps serving the other connections after the refusals", async () => {
    const [ed, native] = await Promise.all([
      via("loans_ed", "select 'ed-ok' as r;"),
      mariadbCli(h.port, human, "select current_user() as u;"),
    ]);
    expect(ed.stdout).toContain("ed-ok");
    expect(native.stdout).toContain("custos@127.0.0.1");
  });

  test("no password in the gateway's logs or audit log; the refusals are audited", async () => {
    await Bun.sleep(300);
    await h.gw.recorder.durable();
    const store = await openStore(`sqlite:${h.dataDir}/audit.db`);
    try {
      const events = await allEvents(store);
      const all = JSON.stringify(events) + h.logs.join("\n");
      for (const s of secrets()) expect(all).not.toContain(s);
      const refusals = events.filter((e) => e.type === "upstream.error").map((e) => JSON.stringify(e));
      expect(refusals.some((e) => e.includes("Access denied for user 'custos_ed'"))).toBe(true);
      expect(refusals.some((e) => e.includes("mysql_old_password"))).toBe(true);
    } finally {
      await store.close();
    }
  });
});
