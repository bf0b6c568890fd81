// node-postgres (`pg`, with pg-cursor and pg-copy-streams) probe: the same features as every other client.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import Cursor from "pg-cursor";
import type { Observed, Target } from "../support.ts";
import { capture, ERROR_STATEMENTS, STARTUP_SETTINGS, sqlstateOf } from "./capture.ts";

type Extra = Partial<pg.ClientConfig> & Record<string, unknown>;
const config = (t: Target, extra: Extra = {}): pg.ClientConfig => ({
  host: t.host,
  port: t.port,
  user: t.user,
  password: t.password,
  database: t.database,
  ssl: false,
  ...extra,
});
const pid = (c: pg.Client) => (c as unknown as { processID: number }).processID;

async function withClient<T>(t: Target, extra: Extra, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(config(t, extra));
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

export async function nodePostgresProbe(t: Target): Promise<Observed> {
  const out: Observed = {};
  const c = new pg.Client(config(t));
  await capture(out, "connect", async () => {
    await c.connect();
    const r = await c.query("select current_user, current_database()");
    return [r.rows[0].current_user, r.rows[0].current_database];
  });
  await capture(out, "simple", async () => {
    const r = await c.query(
      "select count(*)::text as n, sum(amount)::text as s, max(name) as m from drv_items",
    );
    return [r.rows[0].n, r.rows[0].s, r.rows[0].m];
  });
  await capture(out, "extended", async () => {
    const r = await c.query({
      text: "select $1::int + 1 as a, $2::text as b, $3::numeric as c, $4::bytea as d, $5::text as e, $6::int[] as f, $7::jsonb as g",
      values: [
        41,
        "é€ 'quote' \\ back",
        "12345.67",
        Buffer.from([0, 1, 255]),
        null,
        [1, 2],
        JSON.stringify({ k: "v" }),
      ],
    });
    const row = r.rows[0];
    const named = [];
    for (const id of [7, 8]) {
      const n = await c.query({
        name: "drv-by-id",
        text: "select name from drv_items where id = $1",
        values: [id],
      });
      named.push(n.rows[0].name);
    }
    return { row: [row.a, row.b, row.c, row.d.toString("hex"), row.e, row.f, row.g], named };
  });
  await capture(out, "pipeline", async () => {
    // node-postgres queues queries on one connection (no protocol pipelining): several in flight at once.
    const rs = await Promise.all([0, 1, 2, 3, 4].map((i) => c.query("select $1::int * 2 as v", [i])));
    const multi = await c.query("select 1 as a; select 2 as b");
    return {
      values: rs.map((r) => r.rows[0].v),
      multi: (multi as unknown as pg.QueryResult[]).map((r) => r.rows),
    };
  });
  await capture(out, "copy", async () => {
    await c.query("create temp table copy_in (id int, name text)");
    const lines = Array.from({ length: 1000 }, (_, i) => `${i + 1}\trow ${i + 1} é\n`).join("");
    const sink = c.query(copyFrom("COPY copy_in FROM STDIN"));
    await pipeline(Readable.from([Buffer.from(lines)]), sink);
    const counted = await c.query(
      "select count(*)::int as n, md5(string_agg(name, ',' order by id)) as h from copy_in",
    );
    const hash = createHash("md5");
    let bytes = 0;
    const source = c.query(copyTo("COPY (select * from drv_items order by id) TO STDOUT"));
    for await (const chunk of source) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    return { in: [counted.rows[0].n, counted.rows[0].h], out_md5: hash.digest("hex"), out_bytes: bytes };
  });
  await capture(out, "cursor", async () => {
    // pg-cursor: an unnamed portal read with Execute(maxRows) and PortalSuspended.
    const cursor = c.query(new Cursor("select id from drv_items where id > $1 order by id", [0]));
    let count = 0;
    let sum = 0;
    for (;;) {
      const rows = await cursor.read(37);
      if (rows.length === 0) break;
      count += rows.length;
      for (const r of rows) sum += r.id as number;
    }
    await cursor.close();
    return { count, sum };
  });
  await capture(out, "large_object", async () => {
    const blob = Buffer.alloc(16384, 0).map((_, i) => i % 256);
    const r = await c.query("select lo_from_bytea(0, $1) as oid", [blob]);
    const back = await c.query("select lo_get($1) as b", [r.rows[0].oid]);
    await c.query("select lo_unlink($1)", [r.rows[0].oid]);
    return { equal: Buffer.compare(back.rows[0].b, blob) === 0, size: back.rows[0].b.length };
  });
  await capture(out, "cancel", async () =>
    withClient(t, {}, async (k) => {
      const started = Date.now();
      const running = k.query("select pg_sleep(20)").then(
        () => "not cancelled",
        (err) => sqlstateOf(err),
      );
      await Bun.sleep(500);
      // What pg.Pool users do: a second connection cancelling the first by its BackendKeyData.
      await withClient(t, {}, (other) => other.query("select 1")); // a warm-up keeps the timing honest
      const cancelCon = new (
        pg as unknown as {
          Connection: new () => pg.Connection & {
            cancel(pid: number, key: number): void;
            connect(port: number, host: string): void;
            on(e: string, f: () => void): void;
            end(): void;
          };
        }
      ).Connection();
      const key = (k as unknown as { secretKey: number }).secretKey;
      await new Promise<void>((resolve) => {
        cancelCon.on("connect", () => {
          cancelCon.cancel(pid(k), key);
          resolve();
        });
        cancelCon.connect(t.port, t.host);
      });
      const state = await running;
      const after = await k.query("select 1 as v");
      return { state, within_5s: Date.now() - started < 5000, usable_after: after.rows[0].v };
    }),
  );
  await capture(out, "notify", async () =>
    withClient(t, {}, async (l) => {
      const got = new Promise<unknown[]>((resolve) =>
        l.on("notification", (n) => resolve([n.channel, n.payload, n.processId === pid(l)])),
      );
      await l.query("listen drv_channel");
      await l.query("notify drv_channel, 'payload é'");
      return got;
    }),
  );
  await capture(out, "tls", async () =>
    withClient(t, { ssl: { rejectUnauthorized: false } }, async (s) => {
      const r = await s.query("select 1 as v");
      const socket = (s as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream;
      return { value: r.rows[0].v, encrypted: socket.encrypted === true };
    }),
  );
  await capture(out, "startup", async () =>
    // node-postgres sends these as start-up parameters of their own (not `options`).
    withClient(
      t,
      {
        statement_timeout: 1234,
        lock_timeout: 2000,
        idle_in_transaction_session_timeout: 300000,
        application_name: "drv probe",
      },
      async (s) => {
        const shows = [];
        for (const name of STARTUP_SETTINGS) shows.push((await s.query(`show ${name}`)).rows[0][name]);
        const enforced = await s.query("select pg_sleep(3)").then(
          () => "not enforced",
          (err) => sqlstateOf(err),
        );
        return { show: shows, enforced };
      },
    ),
  );
  await capture(out, "errors", async () => {
    await c.query("create temp table uniq (id int primary key)");
    const seen = [];
    for (const stmt of ERROR_STATEMENTS) {
      seen.push(
        await c.query(stmt).then(
          () => "no error",
          (err) => [err.code, err.position ?? null],
        ),
      );
    }
    // The extended protocol reports the same.
    seen.push(
      await c.query("selec $1", [1]).then(
        () => "no error",
        (err) => [err.code, err.position ?? null],
      ),
    );
    return seen;
  });
  await capture(out, "pid", async () => pid(c) === (await c.query("select pg_backend_pid() as p")).rows[0].p);
  await capture(out, "empty_query", async () => {
    const r = await c.query("");
    return [r.rows.length, (await c.query("select 1 as v")).rows[0].v];
  });
  await capture(out, "connect_end", async () => {
    // connect(); end() at once must not crash on anything the gateway sends (issue 14 item 7's client).
    const q = new pg.Client(config(t));
    await q.connect();
    await q.end();
    return "ok";
  });
  await capture(out, "connect_end_at_once", async () => {
    // connect() and end() in the same tick, under Node (whose socket sends pg's Terminate before the
    // StartupMessage, as node-postgres's own quick-disconnect test does). PostgreSQL closes silently on that
    // malformed start-up packet; the client must see no error (issue 14 item 7).
    const script = `const { Client } = require("pg");
      const c = new Client(JSON.parse(process.env.PROBE_PG));
      c.on("error", (e) => { console.log("error event: " + e.message); process.exit(0); });
      c.connect().catch((e) => console.log("connect rejected: " + e.message));
      c.end().then(() => console.log("ended"), (e) => console.log("end rejected: " + e.message));
      setTimeout(() => process.exit(0), 1500);`;
    const proc = Bun.spawn(["node", "-e", script], {
      cwd: new URL("../../..", import.meta.url).pathname,
      env: { ...process.env, PROBE_PG: JSON.stringify(config(t)) },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { stdout: stdout.trim().split("\n"), crashed: /Error/.test(stderr) };
  });
  await capture(
    out,
    "large_bind",
    async () => {
      // A 70 MiB text parameter in one Bind (PostgreSQL accepts messages up to 1 GB).
      const big = "x".repeat(70 * 1024 * 1024);
      const r = await c.query("select length($1::text) as n, md5($1::text) = md5(repeat('x', $2)) as same", [
        big,
        big.length,
      ]);
      return [r.rows[0].n, r.rows[0].same];
    },
    60_000,
  );
  await c.end().catch(() => {});
  return out;
}
