// postgres.js probe: the same features as every other client, through its own API (tagged templates,
// pipelined queries, cursors, COPY streams, LISTEN, cancel, start-up `connection` parameters).
import { createHash } from "node:crypto";
import postgres from "postgres";
import type { Observed, Target } from "../support.ts";
import { capture, ERROR_STATEMENTS, STARTUP_SETTINGS, sqlstateOf } from "./capture.ts";

type Options = postgres.Options<Record<string, postgres.PostgresType>>;
const open = (t: Target, extra: Options = {}) =>
  postgres({
    host: t.host,
    port: t.port,
    user: t.user,
    pass: t.password,
    database: t.database,
    ssl: false,
    max: 1,
    onnotice: () => {},
    ...extra,
  });

export async function postgresJsProbe(t: Target): Promise<Observed> {
  const out: Observed = {};
  const sql = open(t);
  await capture(out, "connect", async () => {
    const [r] = await sql`select current_user, current_database()`;
    return [r!.current_user, r!.current_database];
  });
  await capture(out, "simple", async () => {
    const [r] = await sql
      .unsafe("select count(*)::text as n, sum(amount)::text as s, max(name) as m from drv_items")
      .simple();
    return [r!.n, r!.s, r!.m];
  });
  await capture(out, "extended", async () => {
    const [r] =
      await sql`select ${41}::int + 1 as a, ${"é€ 'quote' \\ back"}::text as b, ${"12345.67"}::numeric as c,
      ${Buffer.from([0, 1, 255])}::bytea as d, ${null}::text as e, ${sql.array([1, 2])}::int[] as f, ${sql.json({ k: "v" })} as g`;
    const named = [];
    for (const id of [7, 8]) named.push((await sql`select name from drv_items where id = ${id}`)[0]!.name);
    return { row: [r!.a, r!.b, r!.c, Buffer.from(r!.d).toString("hex"), r!.e, r!.f, r!.g], named };
  });
  await capture(out, "pipeline", async () => {
    // postgres.js pipelines queries issued together on one connection (max: 1 here).
    const rs = await Promise.all([0, 1, 2, 3, 4].map((i) => sql`select ${i}::int * 2 as v`));
    return { values: rs.map((r) => r[0]!.v) };
  });
  await capture(out, "copy", async () => {
    return sql.begin(async (tx) => {
      await tx`create temp table copy_in (id int, name text) on commit drop`;
      const writable = await tx`copy copy_in from stdin`.writable();
      const lines = Array.from({ length: 1000 }, (_, i) => `${i + 1}\trow ${i + 1} é\n`).join("");
      await new Promise<void>((resolve, reject) => {
        writable.on("error", reject);
        writable.end(Buffer.from(lines), () => resolve());
      });
      await Bun.sleep(50);
      const [c] =
        await tx`select count(*)::int as n, md5(string_agg(name, ',' order by id)) as h from copy_in`;
      const hash = createHash("md5");
      let bytes = 0;
      const readable = await tx`copy (select * from drv_items order by id) to stdout`.readable();
      for await (const chunk of readable) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      return { in: [c!.n, c!.h], out_md5: hash.digest("hex"), out_bytes: bytes };
    });
  });
  await capture(out, "cursor", async () => {
    let count = 0;
    let sum = 0;
    await sql`select id from drv_items order by id`.cursor(37, async (rows) => {
      count += rows.length;
      for (const r of rows) sum += r.id as number;
    });
    return { count, sum };
  });
  await capture(out, "large_object", async () => {
    const blob = Buffer.alloc(16384, 0).map((_, i) => i % 256);
    const [r] = await sql`select lo_from_bytea(0, ${blob}) as oid`;
    const [b] = await sql`select lo_get(${r!.oid}) as b`;
    await sql`select lo_unlink(${r!.oid})`;
    return { equal: Buffer.compare(Buffer.from(b!.b), blob) === 0, size: b!.b.length };
  });
  await capture(out, "cancel", async () => {
    const k = open(t);
    try {
      const started = Date.now();
      const q = k`select pg_sleep(20)`;
      const running = q.then(
        () => "not cancelled",
        (err) => sqlstateOf(err),
      );
      await Bun.sleep(500);
      await q.cancel();
      const state = await running;
      const [after] = await k`select 1 as v`;
      return { state, within_5s: Date.now() - started < 5000, usable_after: after!.v };
    } finally {
      await k.end();
    }
  });
  await capture(out, "notify", async () => {
    const l = open(t, { max: 2 });
    try {
      const [p] = await l`select pg_backend_pid() as p`;
      void p;
      const got = new Promise<unknown[]>((resolve) => {
        void l.listen("drv_channel", (payload) => resolve(["drv_channel", payload]));
      });
      await Bun.sleep(200);
      await l.notify("drv_channel", "payload é");
      return await got;
    } finally {
      await l.end();
    }
  });
  await capture(out, "tls", async () => {
    const s = open(t, { ssl: { rejectUnauthorized: false } });
    try {
      const [r] = await s`select 1 as v`;
      return { value: r!.v };
    } finally {
      await s.end();
    }
  });
  await capture(out, "startup", async () => {
    // `connection` entries go into the StartupMessage as parameters of their own.
    const s = open(t, {
      connection: {
        statement_timeout: 1234,
        lock_timeout: "2s",
        idle_in_transaction_session_timeout: "5min",
        application_name: "drv probe",
      } as Record<string, string | number>,
    });
    try {
      const shows = [];
      for (const name of STARTUP_SETTINGS) shows.push((await s.unsafe(`show ${name}`))[0]![name]);
      const enforced = await s`select pg_sleep(3)`.then(
        () => "not enforced",
        (err) => sqlstateOf(err),
      );
      return { show: shows, enforced };
    } finally {
      await s.end();
    }
  });
  await capture(out, "errors", async () => {
    await sql`create temp table uniq (id int primary key)`;
    const seen = [];
    for (const stmt of ERROR_STATEMENTS) {
      seen.push(
        await sql.unsafe(stmt).then(
          () => "no error",
          (err) => [err.code, err.position ?? null],
        ),
      );
    }
    return seen;
  });
  await capture(out, "empty_query", async () => {
    const r = await sql.unsafe("");
    return [r.length, (await sql`select 1 as v`)[0]!.v];
  });
  await sql.end();
  return out;
}
