// A statement held for approval through the MySQL protocol (protocols/mysql/held.ts): MySQL has no
// asynchronous notice, so the client is answered with an ERR naming the request after `held_reply`; an
// approver approves with the real CLI; the same statement sent again in that session runs once, and the
// one after that is held again. Judged by effect: the canary rows read directly from MariaDB.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mysql from "mysql2/promise";
import { decideWithCli } from "../support/approver.ts";
import { FIXTURE, haveMariaDb } from "../support/mariadb.ts";
import { AGENT, type MysqlHarness, startMysqlHarness } from "./support.ts";

let h: MysqlHarness;
let agentToken: string;
let approver: string;

beforeAll(async () => {
  h = await startMysqlHarness({
    approvers: ["approvers"],
    review_timeout: "60s",
    held_reply: "1s",
    held_retry_window: "60s",
  });
  agentToken = await h.token("agent-7", AGENT);
  approver = await h.token("bob@bank.example", ["approvers"]);
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

const rows = async (id: number) =>
  Number((await h.db.sql(`SELECT count(*) FROM canary WHERE id = ${id}`)).trim());

const custos = (verb: "approve" | "deny", id: string) =>
  decideWithCli(h.gw.httpPort, verb, id, approver, "CHG-19 test");

const HELD = /request ([0-9a-f]{16})/;

/** mysql2 as the agent, its token as the password, over TLS. */
const agentConnection = () =>
  mysql.createConnection({
    host: "127.0.0.1",
    port: h.port,
    user: "agent",
    password: agentToken,
    database: "loans",
    ssl: { rejectUnauthorized: false },
  });

describe.skipIf(!haveMariaDb())("mysql: statements held for approval", () => {
  test("mysql2: held → told the id → approved with the CLI → the retry runs once; the next is held again", async () => {
    const c = await agentConnection();
    const sql = "INSERT INTO canary (id, v) VALUES (71, 'approved')";
    try {
      const first = (await c.query(sql).catch((e) => e)) as {
        errno?: number;
        sqlState?: string;
        message: string;
      };
      expect(first.errno).toBe(1644);
      expect(first.sqlState).toBe("45C01");
      expect(first.message).toContain("custos approve");
      const id = HELD.exec(first.message)?.[1];
      expect(id).toBeDefined();
      expect(await rows(71)).toBe(0);
      // Sent again before anyone decided: still held, under the same request (no second request filed).
      const early = (await c.query(sql).catch((e) => e)) as { message: string };
      expect(early.message).toContain(`still held for approval: request ${id}`);
      expect(await rows(71)).toBe(0);
      // A harmless read in between is not affected; a different statement is not the approved one.
      const [ok] = (await c.query("SELECT v FROM canary WHERE id = 1")) as [unknown, unknown];
      expect(ok).toEqual([{ v: "intact" }]);
      await custos("approve", id!);
      const other = (await c.query("INSERT INTO canary (id, v) VALUES (72, 'approved')").catch((e) => e)) as {
        errno?: number;
        message: string;
      };
      expect(other.errno).toBe(1644);
      expect(HELD.exec(other.message)?.[1]).not.toBe(id);
      expect(await rows(72)).toBe(0);
      // The approved text runs, once.
      const [ran] = (await c.query(sql)) as [{ affectedRows: number }, unknown];
      expect(ran.affectedRows).toBe(1);
      expect(await rows(71)).toBe(1);
      await h.db.sql("DELETE FROM canary WHERE id = 71");
      const again = (await c.query(sql).catch((e) => e)) as { errno?: number; message: string };
      expect(again.errno).toBe(1644);
      const second = HELD.exec(again.message)?.[1];
      expect(second).toBeDefined();
      expect(second).not.toBe(id);
      expect(await rows(71)).toBe(0);
      // A denial is told once, then the statement is a new request again.
      await custos("deny", second!);
      const denied = (await c.query(sql).catch((e) => e)) as { errno?: number; message: string };
      expect(denied.errno).toBe(1142);
      expect(denied.message).toContain(`request ${second} denied`);
      expect(await rows(71)).toBe(0);
    } finally {
      await c.end();
    }
  }, 60_000);

  test("mysql2 execute: the prepare runs, each execution is held with its parameters and runs once approved", async () => {
    const c = await agentConnection();
    const sql = "INSERT INTO canary (id, v) VALUES (?, ?)";
    try {
      const first = (await c.execute(sql, [74, "prepared"]).catch((e) => e)) as {
        errno?: number;
        message: string;
      };
      expect(first.errno).toBe(1644);
      const id = HELD.exec(first.message)?.[1];
      expect(id).toBeDefined();
      await custos("approve", id!);
      // The approval is for these parameters: other values are a new request and write nothing.
      const other = (await c.execute(sql, [75, "prepared"]).catch((e) => e)) as {
        errno?: number;
        message: string;
      };
      expect(other.errno).toBe(1644);
      expect(HELD.exec(other.message)?.[1]).not.toBe(id);
      expect(await rows(75)).toBe(0);
      const [ran] = (await c.execute(sql, [74, "prepared"])) as [{ affectedRows: number }, unknown];
      expect(ran.affectedRows).toBe(1);
      expect(await rows(74)).toBe(1);
      await h.db.sql("DELETE FROM canary WHERE id = 74");
      const again = (await c.execute(sql, [74, "prepared"]).catch((e) => e)) as { errno?: number };
      expect(again.errno).toBe(1644);
      expect(await rows(74)).toBe(0);
    } finally {
      await c.end();
    }
  }, 60_000);

  test("an approval releases the statement, never its masking: DELETE … RETURNING reaches the agent masked", async () => {
    const c = await agentConnection();
    const sql = "DELETE FROM customers WHERE id = 2 RETURNING id, ssn, email, card_number";
    const received: string[] = [];
    try {
      const first = (await c.query(sql).catch((e) => e)) as { errno?: number; message: string };
      received.push(first.message);
      expect(first.errno).toBe(1644);
      const id = HELD.exec(first.message)?.[1];
      await custos("approve", id!);
      const [rows] = (await c.query(sql)) as [Record<string, unknown>[], unknown];
      received.push(JSON.stringify(rows));
      expect(rows.length).toBe(1); // it ran: the row is gone
      expect(Number((await h.db.sql("SELECT count(*) FROM customers WHERE id = 2")).trim())).toBe(0);
    } finally {
      await c.end();
      await h.db.sql(
        `INSERT IGNORE INTO customers VALUES (2, 'Grace', '${FIXTURE.ssns[2]}', '${FIXTURE.emails[1]}', '${FIXTURE.cards[1]}', 'no notes', 219099999)`,
      );
    }
    const raw = [...FIXTURE.ssns, ...FIXTURE.cards, ...FIXTURE.emails];
    expect(raw.filter((v) => received.join("\n").includes(v))).toEqual([]);
  }, 60_000);

  test("mariadb CLI: the held statement's error names the request; approved, the retry runs once", async () => {
    const proc = Bun.spawn(
      [
        "mariadb",
        "-h",
        "127.0.0.1",
        "-P",
        String(h.port),
        "-u",
        "agent",
        `-p${agentToken}`,
        "--ssl",
        "--skip-ssl-verify-server-cert",
        "-D",
        "loans",
        "-B",
        "--force",
      ],
      { stdin: "pipe", stdout: "pipe", stderr: "pipe" },
    );
    const timer = setTimeout(() => proc.kill(), 45_000);
    let stderr = "";
    const reader = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stderr) stderr += decoder.decode(chunk);
    })();
    const until = async (pattern: RegExp, count: number) => {
      for (let i = 0; i < 200; i++) {
        if ((stderr.match(new RegExp(pattern.source, "g")) ?? []).length >= count) return;
        await Bun.sleep(100);
      }
      throw new Error(`timed out waiting for ${pattern} in ${stderr}`);
    };
    const sql = "INSERT INTO canary (id, v) VALUES (73, 'cli');\n";
    proc.stdin.write(sql);
    proc.stdin.flush();
    await until(/ERROR 1644 \(45C01\)/, 1);
    const id = HELD.exec(stderr)?.[1];
    expect(id).toBeDefined();
    expect(stderr).toContain(`custos approve ${id}`);
    expect(await rows(73)).toBe(0);
    await custos("approve", id!);
    proc.stdin.write(sql);
    proc.stdin.write("SELECT 'after-retry' AS marker;\n");
    proc.stdin.flush();
    for (let i = 0; i < 100 && (await rows(73)) === 0; i++) await Bun.sleep(100);
    expect(await rows(73)).toBe(1);
    await h.db.sql("DELETE FROM canary WHERE id = 73");
    proc.stdin.write(sql);
    proc.stdin.flush();
    await until(/ERROR 1644 \(45C01\)/, 2);
    proc.stdin.end();
    const [stdout] = await Promise.all([new Response(proc.stdout).text(), proc.exited, reader]);
    clearTimeout(timer);
    expect(stdout).toContain("after-retry");
    const ids = [...stderr.matchAll(/request ([0-9a-f]{16})/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(2);
    expect(await rows(73)).toBe(0);
  }, 60_000);
});
