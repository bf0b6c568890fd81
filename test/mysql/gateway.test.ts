// The MySQL protocol end to end: a real MariaDB behind a real gateway, the real mariadb CLI and mysql2.
// Judged by effect: fixture values counted in everything each client received (rows, errors, warnings),
// canary rows read directly from MariaDB, files looked for on disk. Harmless look-alikes sit beside the
// attacks so that refusing everything would fail.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import mysql from "mysql2/promise";
import { openStore } from "../../src/audit/store.ts";
import { allEvents } from "../support/audit-read.ts";
import { FIXTURE, haveMariaDb } from "../support/mariadb.ts";
import { AGENT, type MysqlHarness, mariadbCli, startMysqlHarness } from "./support.ts";

const RAW = [...FIXTURE.ssns, ...FIXTURE.cards, ...FIXTURE.emails];
const leaks = (received: string) => RAW.filter((v) => received.includes(v));

let h: MysqlHarness;
let agentToken: string;
let humanToken: string;

beforeAll(async () => {
  h = await startMysqlHarness();
  agentToken = await h.token("agent-7", AGENT);
  humanToken = await h.token("dana", ["dba"]);
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

async function canary(): Promise<string> {
  return (await h.db.sql("SELECT v FROM canary WHERE id = 1")).trim();
}

function connect(token: string, extra: Record<string, unknown> = {}) {
  return mysql.createConnection({
    host: "127.0.0.1",
    port: h.port,
    user: "agent",
    password: token,
    database: "loans",
    ssl: { rejectUnauthorized: false },
    ...extra,
  });
}

describe.skipIf(!haveMariaDb())("mysql protocol", () => {
  test("identity: TLS is required, a bad token and an unknown connection are refused in MySQL's terms", async () => {
    const plain = await mariadbCli(h.port, agentToken, "select 1;", ["--skip-ssl"]);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/insecure transport|TLS|SSL/i);
    const bad = await mariadbCli(h.port, "not-a-token", "select 1;");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("1045");
    const ok = await mariadbCli(h.port, agentToken, "select 1 as one;");
    expect(ok.stdout).toContain("one\n1");
  });

  test("login: a client starting with mysql_native_password is switched; mysql_clear_password is taken", async () => {
    const native = await mariadbCli(h.port, agentToken, "select 2 as two;", [
      "--default-auth=mysql_native_password",
    ]);
    expect(native.stderr).toBe("");
    expect(native.stdout).toContain("two\n2");
    const clear = await mariadbCli(h.port, agentToken, "select 3 as three;", [
      "--default-auth=mysql_clear_password",
      "--enable-cleartext-plugin",
    ]);
    expect(clear.stderr).toBe("");
    expect(clear.stdout).toContain("three\n3");
  });

  test("an agent's rows are masked by source column and by detectors (CLI)", async () => {
    const r = await mariadbCli(
      h.port,
      agentToken,
      "select id, name, ssn, email, card_number, memo from customers order by id;",
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Ada");
    expect(r.stdout).toContain("***-**-1120");
    expect(leaks(r.stdout + r.stderr)).toEqual([]);
  });

  test("a human sees raw values and writes with a WHERE; an unbounded write is refused", async () => {
    const r = await mariadbCli(h.port, humanToken, "select ssn from customers where id = 1;");
    expect(r.stdout).toContain(FIXTURE.ssns[0]!);
    const view = await mariadbCli(h.port, humanToken, "select tin_text from customer_view where id = 1;");
    expect(view.stdout).toContain(FIXTURE.ssns[0]!);
    const w = await mariadbCli(h.port, humanToken, "update loans set amount = amount where id = 10;");
    expect(w.code).toBe(0);
    const u = await mariadbCli(h.port, humanToken, "update canary set v = 'human';");
    expect(u.code).not.toBe(0);
    expect(u.stderr).toContain("custos.unbounded_write");
    expect(await canary()).toBe("intact");
  });

  // Each attack must leave the canary intact and leak no fixture value; `refused` says it must not run.
  const attacks: { name: string; sql: string; refused: boolean }[] = [
    { name: "write", sql: "update canary set v='pwned' where id=1", refused: true },
    { name: "delete", sql: "delete from canary where id=1", refused: true },
    { name: "multi-statement write", sql: "select 1; update canary set v='pwned' where id=1", refused: true },
    {
      name: "executable comment",
      sql: "select 1 /*!50000 ; update canary set v='pwned' where id=1 */",
      refused: true,
    },
    {
      name: "MariaDB executable comment",
      sql: "/*M!100000 update canary set v='pwned' where id=1 */",
      refused: true,
    },
    { name: "dash-dash without space", sql: "select 1 --1", refused: true },
    { name: "charset introducer", sql: "select _latin1'x' from canary", refused: true },
    { name: "sql_mode lexing change", sql: "set sql_mode='NO_BACKSLASH_ESCAPES'", refused: true },
    { name: "ANSI_QUOTES", sql: "set session sql_mode='ANSI_QUOTES'", refused: true },
    { name: "computed sql_mode", sql: "set @@sql_mode = concat('ANSI', '_QUOTES')", refused: true },
    { name: "character set change", sql: "set names gbk", refused: true },
    { name: "character_set_client", sql: "set character_set_client = 'sjis'", refused: true },
    { name: "function over a masked column", sql: "select upper(ssn) from customers", refused: true },
    { name: "concat over a masked column", sql: "select concat(ssn, '') from customers", refused: true },
    { name: "filter oracle", sql: "select id from customers where ssn like '078%'", refused: true },
    { name: "positional order by", sql: "select ssn from customers order by 1", refused: true },
    { name: "alias order by", sql: "select ssn a from customers order by a", refused: true },
    { name: "scalar subquery", sql: "select (select ssn from customers limit 1) as x", refused: true },
    { name: "union arm", sql: "select name from customers union select ssn from customers", refused: true },
    { name: "derived table", sql: "select * from (select ssn from customers) x", refused: true },
    { name: "group_concat", sql: "select group_concat(email) from customers", refused: true },
    { name: "user variable", sql: "select ssn into @s from customers limit 1", refused: true },
    { name: "user variable assignment", sql: "set @s = (select max(ssn) from customers)", refused: true },
    { name: "server file read", sql: "select load_file('/etc/hostname')", refused: true },
    { name: "sleep", sql: "select sleep(0.1)", refused: true },
    { name: "unlisted function", sql: "select benchmark(10, md5('a'))", refused: true },
    {
      name: "into outfile",
      sql: "select id into outfile '/tmp/custos-mysql-outfile' from canary",
      refused: true,
    },
    {
      name: "load data local",
      sql: "load data local infile '/etc/hostname' into table canary",
      refused: true,
    },
    { name: "processlist", sql: "show processlist", refused: true },
    {
      name: "information_schema.processlist",
      sql: "select * from information_schema.processlist",
      refused: true,
    },
    { name: "change database", sql: "use mysql", refused: true },
    { name: "raw kill", sql: "kill 999999", refused: true },
    { name: "prepare from text", sql: "prepare s from 'update canary set v=1 where id=1'", refused: true },
    { name: "lock", sql: "select v from canary where id = 1 for update", refused: true },
    {
      name: "view hiding a masked column's source",
      sql: "select tin_text from customer_view",
      refused: true,
    },
    { name: "free text (detector)", sql: "select memo from customers", refused: false },
    {
      name: "escaped quote stays a string",
      sql: "select 'a\\'; update canary set v=\\'pwned\\' where id=1; -- ' as s",
      refused: false,
    },
  ];
  for (const a of attacks) {
    test(`agent attack: ${a.name}`, async () => {
      const r = await mariadbCli(h.port, agentToken, `${a.sql};\n`);
      const received = r.stdout + r.stderr;
      expect(leaks(received)).toEqual([]);
      if (a.refused) {
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/ERROR (1142|1064|1047|1094)/);
      } else expect(r.code).toBe(0);
      expect(await canary()).toBe("intact");
    });
  }
  test("into outfile wrote nothing", () => {
    expect(existsSync("/tmp/custos-mysql-outfile")).toBe(false);
  });

  const lookAlikes = [
    "select id, name from customers where id = 1",
    "select count(*) from customers",
    "select 'update canary set v=1' as text",
    "select name from customers order by name",
    "show tables",
    "select date_format(now(), '%Y') as y",
    "begin; select v from canary; commit",
    "use loans",
  ];
  for (const sql of lookAlikes) {
    test(`agent look-alike allowed: ${sql}`, async () => {
      const r = await mariadbCli(h.port, agentToken, `${sql};\n`);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
    });
  }

  test("mysql2: text queries masked, errors as MySQL errors, other sessions untouched", async () => {
    const c = await connect(agentToken);
    try {
      const [rows] = await c.query("select id, ssn, email, memo from customers order by id");
      expect(leaks(JSON.stringify(rows))).toEqual([]);
      expect((rows as { id: number }[]).map((r) => r.id)).toEqual([1, 2]);
      const err = await c.query("update canary set v='pwned' where id=1").catch((e) => e);
      expect(err.errno).toBe(1142);
      expect(err.message).toContain("custos.agent_write");
      const [again] = await c.query("select 1 as one");
      expect(again as unknown).toEqual([{ one: 1 }]);
    } finally {
      await c.end();
    }
  });

  test("mysql2: prepared statements decided at prepare and execute, binary rows masked", async () => {
    const c = await connect(agentToken);
    try {
      const [rows] = await c.execute("select id, ssn, card_number, memo from customers where id = ?", [1]);
      expect((rows as unknown[]).length).toBe(1);
      expect(leaks(JSON.stringify(rows))).toEqual([]);
      const denied = await c.execute("update canary set v = ? where id = 1", ["pwned"]).catch((e) => e);
      expect(denied.errno).toBe(1142);
      expect(await canary()).toBe("intact");
    } finally {
      await c.end();
    }
  });

  test("mysql2: an execution of a closed statement id is refused, never forwarded", async () => {
    const c = await connect(humanToken);
    try {
      const stmt = await c.prepare("select v from canary where id = ?");
      const [ok] = await stmt.execute([1]);
      expect(ok as unknown).toEqual([{ v: "intact" }]);
      stmt.close();
      // The same id again, as a client that kept it would send it.
      const err = await stmt.execute([1]).catch((e) => e);
      expect(err.errno).toBe(1243);
      const [still] = await c.query("select 1 as one");
      expect(still as unknown).toEqual([{ one: 1 }]);
    } finally {
      await c.end();
    }
  });

  test("mysql2: a human's writes run and are visible directly", async () => {
    const c = await connect(humanToken);
    try {
      await c.execute("update loans set amount = ? where id = ?", ["2600.00", 10]);
      expect((await h.db.sql("select amount from loans where id = 10")).trim()).toBe("2600.00");
      const [rows] = await c.execute("select ssn from customers where id = ?", [1]);
      expect(rows as unknown).toEqual([{ ssn: FIXTURE.ssns[0] }]);
    } finally {
      await c.end();
    }
  });

  test("KILL QUERY is routed for the client's own connection only", async () => {
    const a = await connect(humanToken);
    const b = await connect(humanToken);
    const other = await connect(await h.token("someone-else", ["dba"]));
    try {
      const slow = a.query("select sleep(20) as s").then(
        ([rows]) => rows,
        (e) => e,
      );
      await Bun.sleep(300);
      const foreign = await other.query(`kill query ${a.threadId}`).catch((e) => e);
      expect(foreign.errno).toBe(1094);
      const started = Date.now();
      await b.query(`kill query ${a.threadId}`);
      const result = await slow;
      expect(Date.now() - started).toBeLessThan(5000);
      // MariaDB answers a killed SLEEP with 1 (interrupted) or error 1317.
      expect(JSON.stringify(result)).toMatch(/"s":1|1317|interrupted/i);
    } finally {
      await Promise.all([a.end(), b.end(), other.end()]);
    }
  });

  test("a server whose sql_mode the gateway would misread is refused at login (ANSI_QUOTES)", async () => {
    const original = (await h.db.sql("SELECT @@GLOBAL.sql_mode")).trim();
    await h.db.sql(`SET GLOBAL sql_mode = '${original},ANSI_QUOTES'`);
    try {
      const r = await mariadbCli(h.port, agentToken, 'select "ssn" from customers where "ssn" like \'07%\';');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("ANSI_QUOTES");
      expect(leaks(r.stdout + r.stderr)).toEqual([]);
    } finally {
      await h.db.sql(`SET GLOBAL sql_mode = '${original}'`);
    }
    const ok = await mariadbCli(h.port, agentToken, "select 1 as one;");
    expect(ok.stdout).toContain("one\n1");
  });

  test("the recording holds what the agent received (masked), commands and denials; never the token", async () => {
    const token = await h.token("agent-recorded", AGENT);
    await mariadbCli(h.port, token, "select id, ssn from customers where id = 1;");
    await mariadbCli(h.port, token, "delete from canary where id = 1;");
    await Bun.sleep(300);
    await h.gw.recorder.durable();
    const store = await openStore(`sqlite:${h.dataDir}/audit.db`);
    try {
      const all = JSON.stringify(await allEvents(store));
      expect(all).toContain("select id, ssn from customers where id = 1");
      expect(all).toContain("custos.agent_write");
      expect(all.includes(token)).toBe(false);
      const sessions = (await allEvents(store)).filter(
        (e) => e.type === "session.start" && JSON.stringify(e).includes("agent-recorded"),
      );
      expect(sessions.length).toBe(2);
      let frames = "";
      for (const s of sessions) frames += JSON.stringify(await store.sessionFrames(s.sessionId!));
      expect(frames).toContain("***-**-1120");
      expect(leaks(frames + all)).toEqual([]);
    } finally {
      await store.close();
    }
  });

  test("the gateway survives garbage and keeps serving", async () => {
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port: h.port,
      socket: {
        data() {},
        open(s) {
          s.write(new Uint8Array(64).fill(0xff));
          s.end();
        },
      },
    });
    await Bun.sleep(100);
    sock.end();
    const r = await mariadbCli(h.port, agentToken, "select 1 as one;");
    expect(r.stdout).toContain("one\n1");
  });
});
