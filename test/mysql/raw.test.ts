// What no driver shows, through a raw client (raw-client.ts): COM_FIELD_LIST's column defaults, masked
// for agents as the columns' values would be (fixture values counted in every byte received, beside a
// harmless default that must come through), and the greeting, which names the gateway, not the server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mysql from "mysql2/promise";
import { Cap, Com, EOF, ERR, Status, utf8 } from "../../src/protocols/mysql/codec.ts";
import { FIXTURE, haveMariaDb } from "../support/mariadb.ts";
import { RAW_CAPS, rawMysql } from "./raw-client.ts";
import { AGENT, type MysqlHarness, startMysqlHarness } from "./support.ts";

const RAW = [...FIXTURE.ssns, ...FIXTURE.cards, ...FIXTURE.emails];
const leaks = (received: string) => RAW.filter((v) => received.includes(v));

let h: MysqlHarness;
let agentToken: string;
let humanToken: string;

beforeAll(async () => {
  h = await startMysqlHarness();
  agentToken = await h.token("agent-7", AGENT);
  humanToken = await h.token("dana", ["dba"]);
  await h.db.sql(
    `CREATE TABLE loans.defaults_probe (id INT DEFAULT 7, ssn VARCHAR(11) DEFAULT '${FIXTURE.ssns[0]}', note VARCHAR(60) DEFAULT 'see ${FIXTURE.ssns[1]}', contact VARCHAR(80) DEFAULT '${FIXTURE.emails[0]}', card VARCHAR(19) DEFAULT '${FIXTURE.cards[0]}', plain VARCHAR(20) DEFAULT 'plain-default-ok')`,
  );
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

const fieldList = (table: string) => new Uint8Array([Com.FIELD_LIST, ...utf8(table), 0]);
const ends = (p: { payload: Uint8Array }) =>
  p.payload[0] === ERR || (p.payload[0] === EOF && p.payload.length < 9);

describe.skipIf(!haveMariaDb())("mysql: raw client", () => {
  test("COM_FIELD_LIST: an agent's column defaults are masked; a harmless default and a human's are not", async () => {
    const agent = await rawMysql(h.port, agentToken);
    try {
      expect(agent.login.payload[0]).toBe(0);
      const reply = await agent.command(fieldList("defaults_probe"), ends);
      expect(reply.length).toBe(7); // six definitions and EOF: the command ran
      // Wildcards select columns; the defaults of every column are still masked.
      await agent.command(new Uint8Array([...fieldList("defaults_probe"), ...utf8("%")]), ends);
      await agent.command(fieldList("customers"), ends);
      // The session is still usable after the masked field lists.
      const ping = await agent.command(new Uint8Array([Com.PING]), () => true);
      expect(ping[0]?.payload[0]).toBe(0);
      const received = agent.received();
      expect(leaks(received)).toEqual([]);
      expect(received).toContain("plain-default-ok");
      expect(received).toContain("defaults_probe");
    } finally {
      agent.close();
    }
    const human = await rawMysql(h.port, humanToken);
    try {
      await human.command(fieldList("defaults_probe"), ends);
      const received = human.received();
      expect(received).toContain(FIXTURE.ssns[0]!);
      expect(received).toContain(FIXTURE.emails[0]!);
    } finally {
      human.close();
    }
  });

  test("the greeting names the gateway, never the upstream server's version, before and after a login", async () => {
    const upstream = (await h.db.sql("SELECT VERSION()")).trim();
    expect(upstream).toMatch(/^\d+\.\d+\.\d+/);
    const release = upstream.split("-")[0]!;
    for (const token of ["not-a-token", agentToken]) {
      const c = await rawMysql(h.port, token);
      c.close();
      expect(c.greeting.version).toBe("5.7.19-Custos");
      expect(c.greeting.version.includes(release)).toBe(false);
      expect(c.greeting.version).not.toMatch(/mariadb/i);
    }
    // After authentication the client may ask the server itself (a decided statement).
    const human = await rawMysql(h.port, humanToken);
    try {
      await human.command(new Uint8Array([Com.QUERY, ...utf8("SELECT VERSION()")]), ends);
      expect(human.received()).toContain(upstream);
    } finally {
      human.close();
    }
  });
  test("session state: a sql_mode change the classifier did not see (dynamic SQL) ends the session", async () => {
    const c = await mysql.createConnection({
      host: "127.0.0.1",
      port: h.port,
      user: "dana",
      password: humanToken,
      database: "loans",
      ssl: { rejectUnauthorized: false },
    });
    // Look-alikes: settings the gateway lexes alike keep the session.
    await c.query("SET sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'");
    await c.query("SET time_zone = '+01:00'");
    await c.query("PREPARE harmless FROM 'SET time_zone = ''+02:00'''");
    await c.query("EXECUTE harmless");
    const [tz] = (await c.query("SELECT @@time_zone AS tz")) as [{ tz: string }[], unknown];
    expect(tz[0]?.tz).toBe("+02:00");
    // The attack: SQL PREPARE hides the SET from the classifier; the server's OK reports it.
    await c.query("PREPARE s FROM 'SET sql_mode = ''ANSI_QUOTES'''");
    const attack = (await c.query("EXECUTE s").catch((e) => e)) as { message: string };
    expect(attack.message).toMatch(/sql_mode now includes ANSI_QUOTES/);
    // The session is over: nothing more runs under a mode the gateway would misread.
    const after = await c.query(`SELECT "ssn" FROM customers`).catch((e) => e);
    expect(after).toBeInstanceOf(Error);
    c.destroy();
  });

  test("session state: a client without SESSION_TRACK gets plain OKs; after COM_RESET_CONNECTION the watch holds", async () => {
    const query = (sql: string) => new Uint8Array([Com.QUERY, ...utf8(sql)]);
    const statusOf = (p: { payload: Uint8Array } | undefined) => p!.payload[3]! | (p!.payload[4]! << 8);
    const plain = await rawMysql(h.port, humanToken, "loans", RAW_CAPS);
    try {
      const [ok] = await plain.command(query("SET time_zone = '+03:00'"), () => true);
      expect(ok?.payload[0]).toBe(0);
      expect(statusOf(ok) & Status.SESSION_STATE_CHANGED).toBe(0);
      expect(ok!.payload.length).toBe(7);
    } finally {
      plain.close();
    }
    const tracked = await rawMysql(h.port, humanToken, "loans", RAW_CAPS | Cap.SESSION_TRACK);
    try {
      const [ok] = await tracked.command(query("SET time_zone = '+03:00'"), () => true);
      expect(statusOf(ok) & Status.SESSION_STATE_CHANGED).not.toBe(0);
      const [reset] = await tracked.command(new Uint8Array([Com.RESET_CONNECTION]), () => true);
      expect(reset?.payload[0]).toBe(0);
      const rows = await tracked.command(
        query("SELECT 1"),
        (p) => p.payload[0] === 0xfe || p.payload[0] === ERR,
      );
      expect(rows[0]?.payload[0]).toBe(1); // a result set of one column: the session is alive
    } finally {
      tracked.close();
    }
    // After a reset the tracking is pinned again: the same attack still ends the session.
    const again = await rawMysql(h.port, humanToken, "loans", RAW_CAPS | Cap.SESSION_TRACK);
    try {
      await again.command(new Uint8Array([Com.RESET_CONNECTION]), () => true);
      await again.command(query("PREPARE s FROM 'SET sql_mode = ''ANSI_QUOTES'''"), () => true);
      const [err] = await again.command(query("EXECUTE s"), () => true);
      expect(err?.payload[0]).toBe(ERR);
      expect(again.received()).toContain("sql_mode now includes ANSI_QUOTES");
    } finally {
      again.close();
    }
  });
});
