// PyMySQL and MySQL Connector/J (server-side prepared statements on and off, batch) through the gateway
// against the real MariaDB: they work unchanged, an agent's rows arrive masked, writes are refused.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FIXTURE, haveMariaDb } from "../support/mariadb.ts";
import { AGENT, type MysqlHarness, startMysqlHarness } from "./support.ts";

const RAW = [...FIXTURE.ssns, ...FIXTURE.cards, ...FIXTURE.emails];
const leaks = (received: string) => RAW.filter((v) => received.includes(v));
const probes = join(import.meta.dir, "probes");

let h: MysqlHarness;
let clients: Record<string, string> = {};

async function run(cmd: string[], input: string) {
  const proc = Bun.spawn(cmd, { stdin: Buffer.from(input), stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill(), 60_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

beforeAll(async () => {
  if (!haveMariaDb()) return;
  const setup = await run(["sh", join(import.meta.dir, "../../scripts/setup-mysql-clients")], "");
  for (const line of setup.stdout.trim().split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) clients[line.slice(0, at)] = line.slice(at + 1);
  }
  h = await startMysqlHarness();
}, 300_000);
afterAll(async () => {
  await h?.stop();
  clients = {};
});

describe.skipIf(!haveMariaDb())("mysql drivers", () => {
  test("PyMySQL: masked reads, parameters, refused writes", async () => {
    const token = await h.token("py-agent", AGENT);
    const statements = [
      { sql: "select id, ssn, email, memo from customers order by id" },
      { sql: "select name from customers where id = %s", params: [2] },
      { sql: "update canary set v = %s where id = 1", params: ["pwned"] },
      { sql: "select 1" },
    ];
    const r = await run(
      [clients.MYSQL_PYTHON!, join(probes, "pymysql_probe.py"), String(h.port), token],
      JSON.stringify(statements),
    );
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(out[0].rows.length).toBe(2);
    expect(out[1].rows).toEqual([["Grace"]]);
    expect(out[2].errno).toBe(1142);
    expect(out[3].rows).toEqual([["1"]]);
    expect(leaks(r.stdout)).toEqual([]);
    expect((await h.db.sql("select v from canary where id = 1")).trim()).toBe("intact");
  }, 60_000);

  for (const serverPrep of [false, true]) {
    test(`Connector/J (useServerPrepStmts=${serverPrep}): masked reads, refused writes, a human's batch`, async () => {
      const jar = clients.MYSQL_JDBC_CLASSPATH!;
      const agent = await h.token("jdbc-agent", AGENT);
      const input = [
        "query select id, ssn, card_number, memo, tin from customers order by id",
        "query select name from customers where id = 1",
        "update update canary set v = 'pwned' where id = 1",
      ].join("\n");
      const r = await run(
        ["java", "-cp", jar, join(probes, "JdbcProbe.java"), String(h.port), agent, String(serverPrep)],
        input,
      );
      expect(r.stderr).not.toContain("Exception in thread");
      const lines = r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines[0].rows.length).toBe(2);
      expect(lines[1].rows).toEqual([["Ada"]]);
      expect(lines[2].errno).toBe(1142);
      expect(leaks(r.stdout)).toEqual([]);
      const human = await h.token("jdbc-dba", ["dba"]);
      const b = await run(
        ["java", "-cp", jar, join(probes, "JdbcProbe.java"), String(h.port), human, String(serverPrep)],
        "batch update loans set amount = amount + 1 where id = 10;;update loans set amount = amount + 1 where id = 11\nquery select ssn from customers where id = 1\n",
      );
      const out = b.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(out[0].counts).toEqual([1, 1]);
      expect(out[1].rows).toEqual([[FIXTURE.ssns[0]]]);
      expect((await h.db.sql("select v from canary where id = 1")).trim()).toBe("intact");
    }, 120_000);
  }
});
