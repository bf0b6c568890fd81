// Lexing parity and start-up input, judged by effect on the real server: a canary table read directly from
// PostgreSQL must keep its rows whatever encoding, string mode or start-up option a client tries, the
// effective role must not change, and the settings the gateway allows must actually reach the server. Each
// attack is first shown to work directly against PostgreSQL, so a probe that cannot detect it fails.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import pg from "pg";
import postgres from "postgres";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import {
  cancelRequest,
  login,
  password,
  RawClient,
  type RawMessage,
  startup,
  trusted,
  typed,
} from "../support/raw-client.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let human: string;
let agent: string;
const dec = new TextDecoder();

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  gw = await startTestGateway({ pg: db, issuer });
  const upstream = db.roles.scram.user;
  db.sql("CREATE TABLE canary (id int primary key, v text)", "ledger");
  db.sql("INSERT INTO canary SELECT g, 'row ' || g FROM generate_series(1, 3) g", "ledger");
  db.sql(`GRANT ALL ON canary TO ${upstream}, ${db.roles.trust.user}`, "ledger");
  // A role the gateway's upstream account may become: what `options=-c role=…` would escalate to.
  db.sql(`CREATE ROLE custos_priv NOLOGIN; GRANT custos_priv TO ${upstream}`, "ledger");
  // Functions that change a parser setting where the classifier cannot see it: the watch must end the session.
  db.sql(
    `CREATE FUNCTION flip_strings() RETURNS text LANGUAGE sql AS $$ select set_config('standard_conforming_strings', 'off', false) $$;
     CREATE FUNCTION flip_encoding() RETURNS text LANGUAGE sql AS $$ select set_config('client_encoding', 'SJIS', false) $$`,
    "ledger",
  );
  human = await gw.token("dba@bank.example", ["dba"]);
  agent = await gw.token("agent@bank.example", ["agents"]);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
}, 30_000);

const canaryRows = () => Number(db.sql("SELECT count(*) FROM canary", "ledger").trim());
const restoreCanary = () =>
  db.sql(
    "INSERT INTO canary SELECT g, 'row ' || g FROM generate_series(1, 3) g ON CONFLICT DO NOTHING",
    "ledger",
  );

/** A Query message of raw bytes (not UTF-8 text): what a client under another encoding sends. */
const rawQuery = (...parts: (string | number[])[]) =>
  typed(
    "Q",
    Buffer.concat([
      ...parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))),
      Buffer.of(0),
    ]),
  );

// Under SJIS, BIG5 and GBK 0x95 0x5C is one character: the server's string ends at the quote after it,
// while a UTF-8 reader sees an escaped quote (\') and a string that runs to the end.
const encodingAttack = rawQuery("select E'", [0x95], "\\'; delete from canary; --'");
// With standard_conforming_strings off, \' escapes the quote: the server's string ends one quote earlier.
const stringsAttack = rawQuery("select 'a\\''; delete from canary; --'");

/** Sends an attack on an open raw session and waits for its ReadyForQuery (or the session's end). */
async function attempt(c: RawClient, attack: Uint8Array): Promise<RawMessage[]> {
  const from = c.messages.length;
  c.send(attack);
  await c.until(() => c.closed || c.messages.slice(from).some((m) => m.type === "Z"), 10_000, "reply");
  return c.messages.slice(from);
}

const errorOf = (messages: RawMessage[]) => {
  const e = messages.find((m) => m.type === "E");
  if (!e) return null;
  const f: Record<string, string> = {};
  let i = 0;
  while (i < e.body.length && e.body[i] !== 0) {
    const end = e.body.indexOf(0, i + 1);
    f[String.fromCharCode(e.body[i]!)] = dec.decode(e.body.subarray(i + 1, end));
    i = end + 1;
  }
  return f;
};

/** Opens a session with these start-up parameters; returns the FATAL error fields, or null when it opened. */
async function startupError(
  params: Record<string, string | undefined>,
  token: string,
): Promise<Record<string, string> | null> {
  const c = await RawClient.connect(gw.port);
  try {
    c.send(startup({ user: "u", database: "ledger", ...(params as Record<string, string>) }));
    await c.until(() => c.closed || c.messages.some((m) => m.type === "R" || m.type === "E"), 5000, "R or E");
    if (c.messages.some((m) => m.type === "R")) {
      c.send(password(token));
      await c.until(
        () => c.closed || c.messages.some((m) => m.type === "Z" || m.type === "E"),
        10_000,
        "Z or E",
      );
    }
    return errorOf(c.messages);
  } finally {
    c.close();
  }
}

async function show(c: RawClient, setting: string): Promise<string> {
  const reply = await c.simpleQuery(`show ${setting}`);
  const row = reply.find((m) => m.type === "D");
  if (!row) throw new Error(`show ${setting}: ${JSON.stringify(errorOf(reply))}`);
  return dec.decode(row.body.subarray(6));
}

describe("the probes are real (directly against PostgreSQL)", () => {
  test("client_encoding SJIS: the hidden DELETE runs", async () => {
    const c = await trusted(db.port, {
      user: db.roles.trust.user,
      database: "ledger",
      client_encoding: "SJIS",
    });
    await attempt(c, encodingAttack);
    c.close();
    expect(canaryRows()).toBe(0);
    restoreCanary();
  });

  test("standard_conforming_strings off: the hidden DELETE runs", async () => {
    const c = await trusted(db.port, {
      user: db.roles.trust.user,
      database: "ledger",
      options: "-c standard_conforming_strings=off",
    });
    await attempt(c, stringsAttack);
    c.close();
    expect(canaryRows()).toBe(0);
    restoreCanary();
  });
});

describe("client_encoding is pinned to UTF8 for everyone", () => {
  const startups: [string, Record<string, string>][] = [
    ["start-up SJIS", { client_encoding: "SJIS" }],
    ["start-up BIG5", { client_encoding: "BIG5" }],
    ["start-up GBK", { client_encoding: "gbk" }],
    ["options -c SJIS", { options: "-c client_encoding=SJIS" }],
    ["options --client-encoding=BIG5", { options: "--client-encoding=BIG5" }],
    [
      "options -cclient_encoding=GBK after a harmless one",
      { options: "-c application_name=x -cclient_encoding=GBK" },
    ],
  ];
  for (const who of ["human", "agent"] as const) {
    for (const [name, params] of startups) {
      test(`${who}: ${name} is a FATAL naming client_encoding; the canary keeps its rows`, async () => {
        const e = await startupError(params, who === "human" ? human : agent);
        expect(e?.S).toBe("FATAL");
        expect(e?.C).toBe("0A000");
        expect(e?.M).toContain("client_encoding");
        expect(canaryRows()).toBe(3);
      });
    }
  }

  const inSession = [
    "SET client_encoding = 'SJIS'",
    "SET NAMES 'BIG5'",
    "set client_encoding to gbk",
    "SET SESSION client_encoding = 'SJIS'",
    "select set_config('client_encoding', 'SJIS', false)",
    "select pg_catalog.set_config('Client_Encoding'::text, 'BIG5', false)",
    "select 1; SET client_encoding = 'SJIS'",
  ];
  for (const who of ["human", "agent"] as const) {
    for (const sql of inSession) {
      test(`${who}: ${sql} is refused, and the encoding attack after it does nothing`, async () => {
        const { client } = await login(gw.port, who === "human" ? human : agent);
        // The same statement shape with the assumed value first: the classifier's and decider's shape
        // caches must not serve the SJIS statement that decision.
        await client.simpleQuery(sql.replace(/SJIS|BIG5|gbk/g, "UTF8"));
        const reply = await client.simpleQuery(sql);
        expect(errorOf(reply)?.C).toBe("42501");
        expect(await show(client, "client_encoding")).toBe("UTF8");
        const after = await attempt(client, encodingAttack);
        expect(errorOf(after)?.C).toBe("22021"); // character_not_in_repertoire: invalid UTF-8
        client.close();
        expect(canaryRows()).toBe(3);
      });
    }
  }

  test("inside a transaction: SET LOCAL client_encoding is refused too", async () => {
    const { client } = await login(gw.port, human);
    await client.simpleQuery("begin");
    expect(errorOf(await client.simpleQuery("SET LOCAL client_encoding = 'SJIS'"))?.C).toBe("42501");
    await client.simpleQuery("rollback");
    await attempt(client, encodingAttack);
    client.close();
    expect(canaryRows()).toBe(3);
  });

  test("harmless look-alikes work: UTF8 spellings, RESET, SHOW, other set_config calls", async () => {
    for (const params of [
      { client_encoding: "UTF8" },
      { client_encoding: "utf-8" },
      { options: "-c client_encoding=unicode" },
    ]) {
      expect(await startupError(params, human)).toBeNull();
    }
    const { client } = await login(gw.port, human);
    for (const sql of [
      "SET client_encoding = 'UTF8'",
      "SET NAMES 'utf8'",
      "RESET client_encoding",
      "SET client_encoding TO DEFAULT",
      "SHOW client_encoding",
      "select set_config('application_name', 'SJIS', false)",
      "select 'SET client_encoding = ''SJIS'''",
    ]) {
      expect(errorOf(await client.simpleQuery(sql))).toBeNull();
    }
    expect(await show(client, "client_encoding")).toBe("UTF8");
    expect(await show(client, "application_name")).toBe("SJIS");
    client.close();
  });
});

describe("standard_conforming_strings stays on", () => {
  test("options=-c standard_conforming_strings=off is a FATAL naming it (human and agent)", async () => {
    for (const token of [human, agent]) {
      for (const params of [
        { options: "-c standard_conforming_strings=off" },
        { standard_conforming_strings: "off" },
        { options: "--standard-conforming-strings=false" },
      ]) {
        const e = await startupError(params, token);
        expect(e?.C).toBe("0A000");
        expect(e?.M).toContain("standard_conforming_strings");
      }
    }
    expect(canaryRows()).toBe(3);
  });

  test("SET standard_conforming_strings = off / backslash_quote = off refused; the backslash trick does nothing", async () => {
    for (const token of [human, agent]) {
      const { client } = await login(gw.port, token);
      for (const sql of [
        "SET standard_conforming_strings = off",
        "set standard_conforming_strings to 0",
        "select set_config('standard_conforming_strings', 'off', false)",
        "SET backslash_quote = off",
      ]) {
        expect(errorOf(await client.simpleQuery(sql))?.C).toBe("42501");
      }
      await attempt(client, stringsAttack);
      expect(await show(client, "standard_conforming_strings")).toBe("on");
      client.close();
    }
    expect(canaryRows()).toBe(3);
  });

  test("a human may set it to on (a pg_dump script's line) and anyone may SHOW it", async () => {
    const h = (await login(gw.port, human)).client;
    for (const sql of [
      "SET standard_conforming_strings = on",
      "RESET standard_conforming_strings",
      "SHOW standard_conforming_strings",
    ]) {
      expect(errorOf(await h.simpleQuery(sql))).toBeNull();
    }
    h.close();
    const a = (await login(gw.port, agent)).client;
    expect(await show(a, "standard_conforming_strings")).toBe("on");
    a.close();
  });

  test("a role default of off is overridden: the gateway pins on upstream", async () => {
    db.sql(`ALTER ROLE ${db.roles.scram.user} SET standard_conforming_strings = off`, "ledger");
    try {
      const { client } = await login(gw.port, human);
      expect(await show(client, "standard_conforming_strings")).toBe("on");
      await attempt(client, stringsAttack);
      client.close();
      expect(canaryRows()).toBe(3);
    } finally {
      db.sql(`ALTER ROLE ${db.roles.scram.user} RESET standard_conforming_strings`, "ledger");
    }
  });

  test("a role default of client_encoding SJIS is overridden; RESET, RESET ALL and DISCARD ALL return to UTF8", async () => {
    db.sql(`ALTER ROLE ${db.roles.scram.user} SET client_encoding = 'SJIS'`, "ledger");
    try {
      const { client } = await login(gw.port, human);
      expect(await show(client, "client_encoding")).toBe("UTF8");
      for (const sql of ["RESET client_encoding", "RESET ALL", "DISCARD ALL"]) {
        expect(errorOf(await client.simpleQuery(sql))).toBeNull();
        expect(await show(client, "client_encoding")).toBe("UTF8");
      }
      await attempt(client, encodingAttack);
      client.close();
      expect(canaryRows()).toBe(3);
    } finally {
      db.sql(`ALTER ROLE ${db.roles.scram.user} RESET client_encoding`, "ledger");
    }
  });

  for (const fn of ["flip_strings", "flip_encoding"]) {
    test(`a function that changes a parser setting (${fn}) ends the session when the server reports it`, async () => {
      const { client } = await login(gw.port, human);
      const reply = await attempt(client, rawQuery(`select ${fn}()`));
      const e = errorOf(reply);
      expect(e?.S).toBe("FATAL");
      expect(e?.M).toContain(fn === "flip_strings" ? "standard_conforming_strings" : "client_encoding");
      await client.waitClosed();
      expect(canaryRows()).toBe(3);
    });
  }
});

describe("start-up options are an allow-list", () => {
  const escalations: [string, Record<string, string>][] = [
    ["-c role=", { options: "-c role=custos_priv" }],
    ["-crole=", { options: "-crole=custos_priv" }],
    ["--role=", { options: "--role=custos_priv" }],
    ["role as a packet parameter", { role: "custos_priv" }],
    ["session_authorization", { options: "-c session_authorization=custos_priv" }],
    ["escaped space before it", { options: "-c application_name=a\\ b -c role=custos_priv" }],
    ["a postmaster switch (-O allow_system_table_mods)", { options: "-O" }],
    ["a setting not on the list", { options: "-c work_mem=1TB" }],
  ];
  for (const [name, params] of escalations) {
    test(`${name}: a FATAL naming it; no session as the role`, async () => {
      const e = await startupError({ ...params, application_name: "role-probe" }, human);
      expect(e?.S).toBe("FATAL");
      expect(e?.C).toBe("42501");
      expect(e?.M).toMatch(/role|session_authorization|-O|work_mem/);
      const sessions = db.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'role-probe'",
        "ledger",
      );
      expect(Number(sessions.trim())).toBe(0);
    });
  }

  test("current_user read directly is the gateway's account after an allowed option with a backslash-escaped space", async () => {
    const { client } = await login(gw.port, human, {
      params: { options: "-c application_name=role\\ probe" },
    });
    const reply = await client.simpleQuery("select current_user, current_setting('application_name')");
    const row = reply.find((m) => m.type === "D")!;
    expect(dec.decode(row.body)).toContain(db.roles.scram.user);
    expect(dec.decode(row.body)).toContain("role probe");
    client.close();
  });

  test("search_path at start-up: refused for an agent (as its SET is), forwarded for a human", async () => {
    const e = await startupError({ options: "-c search_path=evil,public" }, agent);
    expect(e?.C).toBe("42501");
    expect(e?.M).toContain("search_path");
    const { client } = await login(gw.port, human, { params: { search_path: "evil, public" } });
    expect(await show(client, "search_path")).toBe("evil, public");
    client.close();
  });

  test("replication connections are refused with a clear FATAL", async () => {
    for (const replication of ["database", "true", "on"]) {
      const e = await startupError({ replication }, human);
      expect(e?.S).toBe("FATAL");
      expect(e?.M).toContain("replication");
    }
    expect(await startupError({ replication: "false" }, human)).toBeNull();
  });
});

describe("allowed settings reach the server", () => {
  test("raw start-up parameters and options, through a human session", async () => {
    const { client } = await login(gw.port, human, {
      params: {
        application_name: "reach",
        TimeZone: "Asia/Tokyo",
        DateStyle: "SQL, DMY",
        IntervalStyle: "iso_8601",
        extra_float_digits: "2",
        options:
          "-c statement_timeout=777 --lock-timeout=888 -c idle_in_transaction_session_timeout=999 -c default_transaction_isolation=serializable",
      },
    });
    expect(await show(client, "application_name")).toBe("reach");
    expect(await show(client, "TimeZone")).toBe("Asia/Tokyo");
    expect(await show(client, "DateStyle")).toBe("SQL, DMY");
    expect(await show(client, "IntervalStyle")).toBe("iso_8601");
    expect(await show(client, "extra_float_digits")).toBe("2");
    expect(await show(client, "statement_timeout")).toBe("777ms");
    expect(await show(client, "lock_timeout")).toBe("888ms");
    expect(await show(client, "idle_in_transaction_session_timeout")).toBe("999ms");
    expect(await show(client, "default_transaction_isolation")).toBe("serializable");
    client.close();
  });

  test("psql (libpq) PGOPTIONS with a backslash-escaped space; a refused one is psql's FATAL", async () => {
    const run = async (options: string) => {
      const proc = Bun.spawn(
        [
          "psql",
          "-X",
          "-At",
          gw.url(human),
          "-c",
          "select current_setting('statement_timeout') || '|' || current_setting('DateStyle')",
        ],
        {
          stdout: "pipe",
          stderr: "pipe",
          env: { ...process.env, PGOPTIONS: options, PGCONNECT_TIMEOUT: "10" },
        },
      );
      const [out, err] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
      ]);
      await proc.exited;
      return { out: out.trim(), err };
    };
    expect((await run("-c statement_timeout=777 -c DateStyle=SQL,\\ DMY")).out).toBe("777ms|SQL, DMY");
    const refused = await run("-c role=custos_priv");
    expect(refused.out).toBe("");
    expect(refused.err).toContain('start-up parameter "role" is not permitted');
  });

  test("node-postgres statement_timeout / lock_timeout / idle_in_transaction_session_timeout", async () => {
    const c = new pg.Client({
      connectionString: gw.url(human),
      statement_timeout: 4321,
      lock_timeout: 2345,
      idle_in_transaction_session_timeout: 3456,
    });
    await c.connect();
    const { rows } = await c.query(
      "select current_setting('statement_timeout') s, current_setting('lock_timeout') l, current_setting('idle_in_transaction_session_timeout') i",
    );
    expect(rows[0]).toEqual({ s: "4321ms", l: "2345ms", i: "3456ms" });
    await c.end();
  });

  test("postgres.js connection options", async () => {
    const sql = postgres(gw.url(human), {
      max: 1,
      connection: { statement_timeout: 1234, application_name: "pgjs", TimeZone: "UTC" },
    });
    const [row] =
      await sql`select current_setting('statement_timeout') s, current_setting('application_name') a, current_setting('TimeZone') z`;
    expect(row).toEqual({ s: "1234ms", a: "pgjs", z: "UTC" });
    await sql.end();
  });

  test("node-postgres connect(); end() before the start-up completes does not crash", async () => {
    // As against PostgreSQL itself: end() resolves and connect() never settles (nor throws).
    const c = new pg.Client({ connectionString: gw.url(human) });
    const errors: unknown[] = [];
    c.on("error", (e) => errors.push(e));
    c.connect().catch((e: Error) => errors.push(e));
    await c.end();
    await Bun.sleep(200);
    expect(errors).toEqual([]);
    const other = new pg.Client({ connectionString: gw.url(human) });
    await other.connect();
    expect((await other.query("select 1 as one")).rows[0]).toEqual({ one: 1 });
    await other.end();
  });
});

describe("agents' time-outs are bounded", () => {
  test("the gateway sets the bounds upstream; a smaller value is forwarded", async () => {
    const a = (await login(gw.port, agent)).client;
    expect(await show(a, "statement_timeout")).toBe("5min");
    expect(await show(a, "idle_in_transaction_session_timeout")).toBe("1min");
    a.close();
    const b = (await login(gw.port, agent, { params: { statement_timeout: "1000" } })).client;
    expect(await show(b, "statement_timeout")).toBe("1s");
    b.close();
  });

  test("0 (no limit) or more than the bound at start-up is a FATAL naming the bound", async () => {
    for (const params of [
      { statement_timeout: "0" },
      { options: "-c statement_timeout=1h" },
      { idle_in_transaction_session_timeout: "0" },
    ]) {
      const e = await startupError(params, agent);
      expect(e?.C).toBe("42501");
      expect(e?.M).toMatch(/statement_timeout|idle_in_transaction_session_timeout/);
      expect(e?.M).toContain("at most");
    }
  });

  test("in session an agent cannot lift them; the upstream value is unchanged", async () => {
    const a = (await login(gw.port, agent)).client;
    for (const sql of [
      "SET statement_timeout = 0",
      "SET LOCAL idle_in_transaction_session_timeout = 0",
      "select set_config('statement_timeout', '0', false)",
    ]) {
      expect(errorOf(await a.simpleQuery(sql))?.C).toBe("42501");
    }
    expect(await show(a, "statement_timeout")).toBe("5min");
    a.close();
  });
});

describe("backend PID", () => {
  test("BackendKeyData's PID is pg_backend_pid(); a wrong secret for it cancels nothing", async () => {
    const { client, pid, secret } = await login(gw.port, human);
    const reply = await client.simpleQuery("select pg_backend_pid()");
    expect(Number(dec.decode(reply.find((m) => m.type === "D")!.body.subarray(6)))).toBe(pid);
    // Self-lookup in pg_stat_activity, read directly from the server.
    expect(db.sql(`SELECT usename FROM pg_stat_activity WHERE pid = ${pid}`, "ledger").trim()).toBe(
      db.roles.scram.user,
    );
    const from = client.messages.length;
    client.send(typed("Q", Buffer.from("select pg_sleep(0.6)\0")));
    await Bun.sleep(100);
    const wrong = await RawClient.connect(gw.port);
    wrong.send(cancelRequest(pid, secret ^ 1));
    await wrong.waitClosed();
    await client.waitFor("Z", 5000, from);
    expect(errorOf(client.messages.slice(from))).toBeNull();
    const right = await RawClient.connect(gw.port);
    const again = client.messages.length;
    client.send(typed("Q", Buffer.from("select pg_sleep(5)\0")));
    await Bun.sleep(100);
    right.send(cancelRequest(pid, secret));
    await right.waitClosed();
    await client.waitFor("Z", 5000, again);
    expect(errorOf(client.messages.slice(again))?.C).toBe("57014");
    client.close();
  });
});
