// Identity failures, TLS, and secrets: every refused identity gets the right SQLSTATE and a message that
// says no more than the client needs, the audit log gets the full reason and never the token, and the
// upstream password (and address) never reaches a client, a recording or a log line.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { expandRecording } from "../../src/protocols/postgres/recording.ts";
import { allEvents, waitForEvent, withStore } from "../support/audit-read.ts";
import { captureProxy } from "../support/capture-proxy.ts";
import { dataDirFiles as readDataDirFiles } from "../support/data-dir-files.ts";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import {
  copyData,
  copyDone,
  cstrings,
  fields,
  login,
  password,
  query,
  RawClient,
  startup,
  typed,
} from "../support/raw-client.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
/** Every token presented in this file, valid or not: none may ever be stored or logged. */
const tokens: string[] = [];

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  gw = await startTestGateway({ pg: db, issuer });
  db.sql("CREATE TABLE accounts (id int primary key, owner text)", "ledger");
  db.sql("INSERT INTO accounts SELECT g, 'owner ' || g FROM generate_series(1, 50) g", "ledger");
  db.sql("CREATE TABLE sink (id int, note text)", "ledger");
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
}, 30_000);

const claims = (sub: string, extra: Record<string, unknown> = {}) => ({
  iss: issuer.issuer,
  sub,
  aud: "custos",
  groups: ["dba"],
  ...extra,
});

function url(user: string, token: string, database = "ledger", sslmode = "disable"): string {
  tokens.push(token);
  return `postgres://${user}:${encodeURIComponent(token)}@127.0.0.1:${gw.port}/${database}?sslmode=${sslmode}`;
}

/** The identity failure cases: the token, the SQLSTATE, the audit event type and error code. */
interface Case {
  name: string;
  token: () => Promise<string> | string;
  database?: string;
  sqlstate: string;
  event: "auth.failure" | "access.denied";
  code: string;
}

const cases: Case[] = [
  {
    name: "a random string",
    token: () => `not-a-jwt-${crypto.randomUUID()}`,
    sqlstate: "28P01",
    event: "auth.failure",
    code: "identity.malformed",
  },
  {
    name: "an expired token",
    token: () => issuer.mint(claims("expired@bank.example"), { expiresIn: "-1m" }),
    sqlstate: "28P01",
    event: "auth.failure",
    code: "identity.expired",
  },
  {
    name: "a forged token (unpublished key, same kid)",
    token: () => issuer.mint(claims("forged@bank.example"), { key: "foreign" }),
    sqlstate: "28P01",
    event: "auth.failure",
    code: "identity.invalid",
  },
  {
    name: "alg none",
    token: () => issuer.mintUnsigned(claims("none@bank.example")),
    sqlstate: "28P01",
    event: "auth.failure",
    code: "identity.algorithm",
  },
  {
    name: "HS256 keyed with the public key",
    token: () => issuer.mintHmac(claims("hmac@bank.example")),
    sqlstate: "28P01",
    event: "auth.failure",
    code: "identity.algorithm",
  },
  {
    name: "the wrong audience",
    token: () => issuer.mint(claims("aud@bank.example", { aud: "someone-else" })),
    sqlstate: "28P01",
    event: "auth.failure",
    code: "identity.wrong_audience",
  },
  {
    name: "an unknown issuer",
    token: () => issuer.mint(claims("iss@bank.example", { iss: "https://login.evil.example" })),
    sqlstate: "28P01",
    event: "auth.failure",
    code: "identity.untrusted_issuer",
  },
  {
    name: "an unknown database name",
    token: () => issuer.mint(claims("db@bank.example")),
    database: "no_such_connection",
    sqlstate: "3D000",
    event: "access.denied",
    code: "access.unknown_connection",
  },
  {
    name: "a group without access",
    token: () => issuer.mint(claims("marketing@bank.example", { groups: ["marketing"] })),
    sqlstate: "42501",
    event: "access.denied",
    code: "access.forbidden",
  },
];

/** Internals a client message must not carry: library reasons, keys, endpoints, stack traces. */
function expectNothingInternal(message: string, event: Record<string, unknown>) {
  expect(message.length).toBeGreaterThan(5);
  for (const leak of [
    "jwks",
    "JWS",
    "JWT",
    "kid",
    "signature",
    "    at ",
    issuer.issuer,
    "custos_scram",
    String(db.port),
  ]) {
    expect(message).not.toContain(leak);
  }
  if (typeof event.reason === "string") expect(message).not.toContain(event.reason);
}

describe("identity failures", () => {
  let n = 0;
  for (const c of cases) {
    test(`${c.name}: ${c.sqlstate} via postgres.js and psql, audited in full`, async () => {
      const token = await c.token();
      const user = `case-${++n}`;

      // postgres.js: SQLSTATE and severity.
      const sql = postgres(url(`${user}-js`, token, c.database), {
        max: 1,
        connect_timeout: 5,
        onnotice: () => {},
      });
      const err = (await sql`select 1`.catch((e: unknown) => e)) as {
        code?: string;
        severity?: string;
        message: string;
      };
      await sql.end({ timeout: 1 });
      expect(err.code).toBe(c.sqlstate);
      expect(err.severity).toBe("FATAL");

      const event = await waitForEvent(gw, (e) => e.type === c.event && e.data.user === `${user}-js`);
      expect(event.data.code).toBe(c.code);
      expect(event.data.client_addr).toBe("127.0.0.1");
      expect(event.data.connection).toBe(c.database ?? "ledger");
      // The full reason is in the audit log: identity failures carry the verifier's reason, refusals the groups.
      if (c.event === "auth.failure") expect(typeof event.data.reason).toBe("string");
      if (c.code === "access.forbidden") expect(event.data.groups).toEqual(["marketing"]);
      expect(err.message).toBe(String(event.data.message));
      expectNothingInternal(err.message, event.data);

      // psql shows the same message; the gateway stays up for it.
      const r = await psql(url(`${user}-psql`, token, c.database), ["-c", "select 1"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`FATAL:  ${err.message}`);
      await waitForEvent(gw, (e) => e.type === c.event && e.data.user === `${user}-psql`);
    });
  }

  test("no password at all: 28000 from the gateway, or the client refuses to connect", async () => {
    // A raw client sends an empty password message.
    const c = await RawClient.connect(gw.port);
    c.send(startup({ user: "nopass-raw", database: "ledger" }));
    await c.waitFor("R");
    c.send(password(""));
    await c.waitClosed();
    const [e] = c.errors();
    expect(e?.C).toBe("28000");
    expect(e?.S).toBe("FATAL");
    const event = await waitForEvent(gw, (ev) => ev.type === "auth.failure" && ev.data.user === "nopass-raw");
    expect(event.data.code).toBe("identity.missing");

    // postgres.js sends an empty password too.
    const sql = postgres({
      host: "127.0.0.1",
      port: gw.port,
      user: "nopass-js",
      database: "ledger",
      pass: "",
      max: 1,
      connect_timeout: 5,
    });
    const err = (await sql`select 1`.catch((x: unknown) => x)) as { code?: string };
    await sql.end({ timeout: 1 });
    expect(err.code).toBe("28000");

    // libpq refuses to send an empty password itself.
    const r = await psql(`postgres://nopass-psql@127.0.0.1:${gw.port}/ledger?sslmode=disable`, [
      "-w",
      "-c",
      "select 1",
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("no password supplied");
  });

  test("a valid token still works after all of the above", async () => {
    const token = await gw.token("ok@bank.example");
    const r = await psql(url("ok", token), ["-tAc", "select count(*) from accounts"]);
    expect(r.stdout.trim()).toBe("50");
  });
});

describe("TLS from the gateway", () => {
  test("sslmode=require: psql and postgres.js get TLS; session.start records it", async () => {
    const token = await gw.token("tls-require@bank.example");
    const r = await psql(url("tls-psql", token, "ledger", "require"), ["-c", "\\conninfo"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("SSL connection (protocol: TLSv1.3");
    const sql = postgres(url("tls-js", token), { ssl: "require", max: 1 });
    const [row] = await sql`select 1 as one`;
    await sql.end();
    expect(row?.one).toBe(1);
    const start = await waitForEvent(
      gw,
      (e) => e.type === "session.start" && e.data.client_user === "tls-js",
    );
    expect((start.data.tls as { protocol: string }).protocol).toBe("TLSv1.3");
  });

  test("sslmode=verify-full against the gateway's self-signed certificate, by name and by IP", async () => {
    const root = join(gw.dataDir, "tls-self-signed.pem");
    const token = await gw.token("tls-verify@bank.example");
    tokens.push(token);
    for (const host of ["localhost", "127.0.0.1"]) {
      const conn = `host=${host} port=${gw.port} dbname=ledger user=verify password=${token} sslmode=verify-full sslrootcert=${root}`;
      const r = await psql(conn, ["-tAc", "select 42"]);
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("42");
    }
  });

  test("verify-full with a different root certificate fails on the client", async () => {
    const dir = join(gw.dataDir, "other-ca");
    Bun.spawnSync(["mkdir", "-p", dir]);
    const gen = Bun.spawnSync(
      [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-keyout",
        join(dir, "k.pem"),
        "-out",
        join(dir, "c.pem"),
      ],
      { stderr: "pipe" },
    );
    expect(gen.exitCode).toBe(0);
    const token = await gw.token("tls-wrong-root@bank.example");
    tokens.push(token);
    const conn = `host=localhost port=${gw.port} dbname=ledger user=v password=${token} sslmode=verify-full sslrootcert=${join(dir, "c.pem")}`;
    const r = await psql(conn, ["-tAc", "select 1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("certificate verify failed");
  });
});

describe("the upstream password and address never leave the gateway", () => {
  test("a busy session (queries, errors, COPY both ways, notices, extended protocol): scan everything", async () => {
    const secret = db.roles.scram.password;
    const { client } = await login(gw.port, await gw.token("busy@bank.example"), {
      params: { application_name: "busy" },
    });
    await client.simpleQuery("select * from accounts order by id");
    await client.simpleQuery("select 1/0");
    await client.simpleQuery("select no_such_column from accounts");
    await client.simpleQuery(
      "DO $$ BEGIN RAISE NOTICE 'hello from %', current_user; RAISE WARNING 'careful'; END $$",
    );
    await client.simpleQuery("copy accounts to stdout");
    // COPY FROM STDIN by hand: CopyInResponse, data, done.
    const from = client.messages.length;
    client.send(query("copy sink from stdin"));
    await client.waitFor("G", 5000, from);
    client.send(copyData("1\tone\n2\ttwo\n"));
    client.send(copyDone());
    await client.waitFor("Z", 5000, from);
    await client.simpleQuery("select current_setting('port'), inet_server_addr() is not null");
    await client.simpleQuery("set application_name = 'renamed'");
    await client.simpleQuery("show password_encryption");
    // Extended protocol with a bad parameter.
    const ext = client.messages.length;
    client.send(typed("P", "\0select $1::int\0\0\0"));
    client.send(typed("B", Buffer.from("\0\0\0\0\0\x01\0\0\0\x03abc\0\0", "latin1")));
    client.send(typed("E", "\0\0\0\0\0"));
    client.send(typed("S"));
    await client.waitFor("Z", 5000, ext);
    expect(client.errors().map((e) => e.C)).toEqual(["22012", "42703", "22P02"]);
    expect(client.messages.some((m) => m.type === "N" && fields(m.body).M?.includes("hello from"))).toBe(
      true,
    );
    client.close();

    // The same through postgres.js behind a capturing proxy: its own startup, prepared statements, errors.
    const proxy = await captureProxy(gw.port);
    const sql = postgres(
      `postgres://proxied:${encodeURIComponent(await gw.token("proxied@bank.example"))}@127.0.0.1:${proxy.port}/ledger?sslmode=disable`,
      { max: 2, onnotice: () => {} },
    );
    await sql`select ${5}::int as n, owner from accounts where id = ${3}`;
    await sql`select pg_sleep(0)`;
    await sql`select * from missing_table`.catch(() => null);
    await sql`copy accounts to stdout`.catch(() => null);
    await sql.end();
    proxy.stop();

    const sent = Buffer.concat([client.received, proxy.bytes()]);
    expect(sent.length).toBeGreaterThan(1000);
    expect(sent.includes("hello from")).toBe(true); // control: the scan sees what the client saw
    expect(sent.includes(secret)).toBe(false);

    // The client never learns the upstream's address from protocol messages (ParameterStatus, errors, notices).
    for (const m of client.messages.filter((x) => "SENA".includes(x.type))) {
      const text = cstrings(m.body).join(" ");
      expect(text).not.toContain(`${db.host}:${db.port}`);
      if (m.type === "S") expect(text).not.toContain(String(db.port));
    }

    // Recordings, the store's files (main, WAL) and the logs.
    await gw.gw.recorder.durable();
    const frames = await withStore(gw, async (store) => {
      const sessions = await store.listSessions({ limit: 100 });
      const all = [];
      for (const s of sessions) all.push(...(await store.sessionFrames(s.id)));
      return all;
    });
    // The recording holds the byte streams; decoded, it has one frame per protocol message.
    const decoded = expandRecording(frames);
    expect(decoded.length).toBeGreaterThan(50);
    const framesText = JSON.stringify(decoded, function (k, v) {
      const raw = (this as Record<string, unknown>)[k];
      return raw instanceof Uint8Array ? Buffer.from(raw).toString("latin1") : v;
    });
    expect(framesText).toContain("hello from");
    expect(framesText).not.toContain(secret);
    expect(() => scanDataDir("busy@bank.example")).toThrow(); // control: the scan reads the store's bytes
    scanDataDir(secret);
    expect(gw.logs.join("\n")).not.toContain(secret);
  });
});

/** Every file in the data dir (SQLite main, -wal, -shm, keys), read once out of this process (the gateway's). */
const dataDirFiles = () => readDataDirFiles(gw.dataDir);

function scanDataDir(needle: string, files = dataDirFiles()) {
  expect(files.filter(([, bytes]) => bytes.includes(needle)).map(([name]) => name)).toEqual([]);
}

describe("tokens are never stored or logged", () => {
  test("no token presented in this file appears in the store, its WAL or the logs", async () => {
    await gw.gw.recorder.durable();
    expect(tokens.length).toBeGreaterThan(15);
    const events = await withStore(gw, allEvents);
    expect(events.some((e) => e.type === "auth.failure")).toBe(true);
    const logs = gw.logs.join("\n");
    const files = dataDirFiles();
    const eventsText = JSON.stringify(events);
    for (const token of tokens) {
      // The whole token, and its signature alone (the part that makes it usable).
      const parts = [token, token.split(".")[2] ?? ""].filter((p) => p.length > 16);
      for (const p of parts) {
        scanDataDir(p, files);
        expect(logs).not.toContain(p);
        expect(eventsText).not.toContain(p);
      }
    }
  });
});
