// psql (meta-commands, \copy, large objects) and pg_dump / pg_restore (custom, directory with -j, plain, a
// database holding a large object) DIRECT and THROUGH THE GATEWAY as a human allowed everything. Dumps are
// compared byte for byte with the direct ones; restores are checked by reading the restored databases
// directly from PostgreSQL (table data and large-object bytes hashed server-side).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, pgBin, startPostgres } from "../support/postgres.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let work: string;
const RESTORE_DBS = [
  "restore_plain",
  "restore_custom",
  "restore_dir",
  "restore_plain_b",
  "restore_custom_b",
  "restore_dir_b",
  ...["plain", "custom", "dir"].flatMap((f) => [`direct_${f}`, `direct_${f}_b`]),
] as const;
const LO_OID = 424242;

/** A libpq connection string for the gateway's connection `name` (= database name here). */
async function viaGateway(name = "ledger") {
  const token = await gw.token("dump-operator@bank.example", ["dba"]);
  return `host=127.0.0.1 port=${gw.port} dbname=${name} user=dump-operator password=${token} sslmode=disable`;
}
const direct = (name = "ledger") =>
  `host=127.0.0.1 port=${db.port} dbname=${name} user=${db.roles.scram.user} password=${db.roles.scram.password} sslmode=disable`;

/** Spawns a PostgreSQL client program asynchronously (the gateway runs in this process). */
async function run(cmd: string[], timeoutMs = 120_000) {
  const proc = Bun.spawn(cmd, {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, PGCONNECT_TIMEOUT: "10" },
  });
  const timer = setTimeout(() => proc.kill(), timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

/** What a dump says, less the lines that differ between any two runs (pg_dump's random \restrict key). */
const stable = (dump: string) =>
  dump
    .split("\n")
    .filter((l) => !/^\\(un)?restrict /.test(l))
    .join("\n");

/** Table data and large-object bytes of a database, hashed by PostgreSQL itself. */
function contentOf(database: string, largeObjects = true) {
  const lo = largeObjects ? `(select md5(lo_get(${LO_OID})))` : "'large objects not dumped'";
  return db
    .sql(
      `select (select md5(string_agg(t::text, '|' order by id)) from drv_items t),
              (select md5(string_agg(t::text, '|' order by id)) from dump_notes t),
              ${lo}, (select last_value from dump_seq),
              (select count(*) from dump_view)`,
      database,
    )
    .trim();
}

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  const connection = (name: string) => ({
    name,
    type: "postgres",
    target: {
      host: db.host,
      port: db.port,
      database: name,
      user: db.roles.scram.user,
      password_env: "LEDGER_DB_PASSWORD",
      tls: "prefer",
    },
    allow_groups: name === "ledger" ? ["dba", "agents"] : ["dba"],
  });
  for (const name of RESTORE_DBS) db.sql(`CREATE DATABASE ${name}`);
  gw = await startTestGateway({
    pg: db,
    issuer,
    config: { connections: ["ledger", ...RESTORE_DBS].map(connection) },
  });
  db.sql(
    `CREATE TABLE drv_items (id int PRIMARY KEY, name text NOT NULL, amount numeric(12,2), data bytea, doc jsonb);
     INSERT INTO drv_items SELECT g, 'item ' || g || E' é€ \\\\ tab\\t', g * 1.25, decode(md5(g::text), 'hex'),
       jsonb_build_object('n', g) FROM generate_series(1, 2000) g;
     CREATE TABLE dump_notes (id serial PRIMARY KEY, body text);
     INSERT INTO dump_notes (body) SELECT repeat('note ' || g, 20) FROM generate_series(1, 300) g;
     CREATE SEQUENCE dump_seq; SELECT setval('dump_seq', 77);
     CREATE VIEW dump_view AS SELECT id, name FROM drv_items WHERE id % 10 = 0;
     SELECT lo_from_bytea(${LO_OID}, decode(repeat(md5('large object'), 512), 'hex'));`,
    "ledger",
  );
  work = mkdtempSync(join(tmpdir(), "custos-dump-"));
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("psql: direct vs through the gateway", () => {
  const metaCommands = [
    "\\dt",
    "\\d drv_items",
    "\\d+ dump_notes",
    "\\dv",
    "\\ds",
    "\\di",
    "\\dn",
    "\\df lo_get",
    "\\dT",
    "\\du",
    "\\l",
    "\\dp drv_items",
    "\\dx",
    "\\lo_list",
    "\\sv dump_view",
  ];
  for (const meta of metaCommands) {
    test(`${meta} prints the same`, async () => {
      const d = await psql(direct(), ["-c", meta]);
      const g = await psql(await viaGateway(), ["-c", meta]);
      expect(d.code).toBe(0);
      expect(d.stdout.length).toBeGreaterThan(0);
      expect(g.stderr).toBe(d.stderr);
      expect(g.stdout).toBe(d.stdout);
    });
  }

  test("\\copy out and in: the same bytes, and rows land", async () => {
    const outDirect = join(work, "copy-direct.txt");
    const outGateway = join(work, "copy-gateway.txt");
    const q = "\\copy (select * from drv_items order by id) to '%s'";
    expect((await psql(direct(), ["-c", q.replace("%s", outDirect)])).stderr).toBe("");
    const g = await psql(await viaGateway(), ["-c", q.replace("%s", outGateway)]);
    expect(g.stderr).toBe("");
    const bytes = readFileSync(outGateway);
    expect(bytes.length).toBeGreaterThan(100_000);
    expect(bytes.equals(readFileSync(outDirect))).toBe(true);
    // \copy in, through the gateway, into a table read back directly.
    db.sql("CREATE TABLE copy_back (LIKE drv_items)", "ledger");
    const back = await psql(await viaGateway(), ["-c", `\\copy copy_back from '${outGateway}'`]);
    expect(back.stderr).toBe("");
    expect(back.stdout.trim()).toBe("COPY 2000");
    expect(
      db
        .sql("select count(*) from (select * from copy_back except select * from drv_items) d", "ledger")
        .trim(),
    ).toBe("0");
  });

  // issue 14 item 5 (fast-path FunctionCall decided like `select lo_…(…)` and relayed): \lo_import and
  // \lo_export use libpq's lo_* API, which is the FunctionCall message.
  test("\\lo_import then \\lo_export through the gateway round-trips the bytes (issue 14 item 5)", async () => {
    const src = join(work, "lo-src.bin");
    const blob = Buffer.alloc(300_000);
    for (let i = 0; i < blob.length; i++) blob[i] = (i * 7919) % 256;
    writeFileSync(src, blob);
    const imp = await psql(await viaGateway(), ["-c", `\\lo_import '${src}'`]);
    expect(imp.stderr).toBe("");
    const oid = /lo_import (\d+)/.exec(imp.stdout)?.[1];
    expect(oid).toBeDefined();
    // What PostgreSQL holds, read directly.
    expect(db.sql(`select md5(lo_get(${oid}))`, "ledger").trim()).toBe(
      new Bun.CryptoHasher("md5").update(blob).digest("hex"),
    );
    const dst = join(work, "lo-dst.bin");
    const exp = await psql(await viaGateway(), ["-c", `\\lo_export ${oid} '${dst}'`]);
    expect(exp.stderr).toBe("");
    expect(readFileSync(dst).equals(blob)).toBe(true);
    db.sql(`select lo_unlink(${oid})`, "ledger");
  });

  test("an agent's psql: reads work, a write is refused with 42501 and does not happen", async () => {
    const agentToken = await gw.token("agent-psql@bank.example", ["agents"]);
    const conn = `host=127.0.0.1 port=${gw.port} dbname=ledger user=agent password=${agentToken} sslmode=disable`;
    const read = await psql(conn, ["-tAc", "select count(*) from drv_items"]);
    expect(read.stdout.trim()).toBe("2000");
    const write = await psql(conn, [
      "-v",
      "VERBOSITY=verbose",
      "-c",
      "update drv_items set name = 'x' where id = 1",
    ]);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toContain("42501");
    expect(db.sql("select name from drv_items where id = 1", "ledger").trim()).not.toBe("x");
  });
});

// With a large object in the database every pg_dump below needs the fast-path FunctionCall (lo_open/loread,
// issue 14 item 5); the `-B` (no large objects) twins keep the rest apart. Every pg_dump from 15.14/16.10/17.6
// on opens with `SELECT set_config(name, 'view, foreign-table', false) FROM pg_settings WHERE name =
// 'restrict_nonsystem_relation_kind'`: its setting name is computed, and its value is harmless for every
// parser setting (src/sql/parser-settings.ts), so it is allowed.
for (const blobs of [true, false]) {
  const flags = blobs ? [] : ["-B"];
  const suffix = blobs ? "" : "_b";
  const label = blobs ? " (a large object: FunctionCall, item 5)" : " (-B: no large objects)";
  // Restoring runs `SET standard_conforming_strings = on` (issue 14 item 9: allowed on main since the merge).
  describe(`pg_dump / pg_restore: direct vs through the gateway${label}`, () => {
    test("plain data-only dump: byte for byte the same as direct", async () => {
      const d = await run([pgBin("pg_dump"), ...flags, "--data-only", "--no-owner", "-d", direct()]);
      const g = await run([
        pgBin("pg_dump"),
        ...flags,
        "--data-only",
        "--no-owner",
        "-d",
        await viaGateway(),
      ]);
      expect(d.code).toBe(0);
      expect(d.stdout.includes("lo_open")).toBe(blobs);
      expect(g.stderr).toBe("");
      expect(g.code).toBe(0);
      expect(stable(g.stdout)).toBe(stable(d.stdout));
    });

    test(`plain full dump restored through the gateway with psql: the same content`, async () => {
      const g = await run([pgBin("pg_dump"), ...flags, "--no-owner", "-d", await viaGateway()]);
      expect(g.stderr).toBe("");
      const file = join(work, `plain${suffix}.sql`);
      writeFileSync(file, g.stdout);
      const r = await psql(await viaGateway(`restore_plain${suffix}`), ["-q", "-f", file]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(contentOf(`restore_plain${suffix}`, blobs)).toBe(contentOf("ledger", blobs));
    });

    test(`custom format (-Fc) dumped and restored through the gateway: same TOC, same content`, async () => {
      const file = join(work, `dump${suffix}.custom`);
      const g = await run([
        pgBin("pg_dump"),
        ...flags,
        "-Fc",
        "--no-owner",
        "-f",
        file,
        "-d",
        await viaGateway(),
      ]);
      expect(g.stderr).toBe("");
      const d = await run([
        pgBin("pg_dump"),
        ...flags,
        "-Fc",
        "--no-owner",
        "-f",
        `${file}.direct`,
        "-d",
        direct(),
      ]);
      expect(d.code).toBe(0);
      // The archive's table of contents is the direct one's (pg_restore -l, less its header of dates).
      const toc = async (f: string) =>
        (await run([pgBin("pg_restore"), "-l", f])).stdout
          .split("\n")
          .filter((l) => !l.startsWith(";"))
          .join("\n");
      expect(await toc(file)).toBe(await toc(`${file}.direct`));
      const r = await run([
        pgBin("pg_restore"),
        "--no-owner",
        "-d",
        await viaGateway(`restore_custom${suffix}`),
        file,
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(contentOf(`restore_custom${suffix}`, blobs)).toBe(contentOf("ledger", blobs));
    });

    test(`directory format with -j 2 both ways (synchronized snapshots): same content`, async () => {
      const dir = join(work, `dump${suffix}.dir`);
      const g = await run([
        pgBin("pg_dump"),
        ...flags,
        "-Fd",
        "-j",
        "2",
        "--no-owner",
        "-f",
        dir,
        "-d",
        await viaGateway(),
      ]);
      expect(g.stderr).toBe("");
      expect(g.code).toBe(0);
      const r = await run([
        pgBin("pg_restore"),
        "-j",
        "2",
        "--no-owner",
        "-d",
        await viaGateway(`restore_dir${suffix}`),
        dir,
      ]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(contentOf(`restore_dir${suffix}`, blobs)).toBe(contentOf("ledger", blobs));
    });
  });

  // pg_restore / psql through the gateway apart from pg_dump through it: archives made DIRECTLY.
  describe(`restoring a dump made directly, through the gateway${label}`, () => {
    for (const [format, args] of [
      ["plain", ["-Fp"]],
      ["custom", ["-Fc"]],
      ["dir", ["-Fd", "-j", "2"]],
    ] as const) {
      test(`${format}: the restored database holds what the source holds`, async () => {
        const path = join(work, `direct-${format}${suffix}`);
        const d = await run([pgBin("pg_dump"), ...flags, ...args, "--no-owner", "-f", path, "-d", direct()]);
        expect(d.code).toBe(0);
        const target = await viaGateway(`direct_${format}${suffix}`);
        const r =
          format === "plain"
            ? await psql(target, ["-q", "-f", path])
            : await run([
                pgBin("pg_restore"),
                ...(format === "dir" ? ["-j", "2"] : []),
                "--no-owner",
                "-d",
                target,
                path,
              ]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(contentOf(`direct_${format}${suffix}`, blobs)).toBe(contentOf("ledger", blobs));
      });
    }
  });
}
