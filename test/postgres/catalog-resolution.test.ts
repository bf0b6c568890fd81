// Sensitivity that follows the data, not the names (issue 12, class 4) and the agents' function allow-list
// (class 6), against a real PostgreSQL behind the gateway with the shipped default pack. Every probe runs
// as an agent over the simple and the extended protocol; every byte the client received is searched for
// the fixture's values, sequences and canary state are read directly from PostgreSQL, and harmless
// look-alikes must keep working.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { waitForEvent } from "../support/audit-read.ts";
import { captureProxy } from "../support/capture-proxy.ts";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

const CUSTOMERS = [
  [
    1,
    "Ann Lee",
    "536-22-8417",
    "4111111111111111",
    "ann.lee@example.com",
    "+1 415 555 0182",
    "DE89370400440532013000",
    "1980-01-02",
    "called about card, ssn 612-48-3390",
    "K7-ALPHA-9931",
  ],
  [
    2,
    "Bo Chan",
    "401-73-2290",
    "5500005555555559",
    "bo.chan@example.org",
    "+1 212 555 0147",
    "GB82WEST12345698765432",
    "1975-11-23",
    "prefers mail; ssn on file 287-65-4301",
    "K7-BRAVO-2274",
  ],
] as const;

/** Every regulated value of the fixture: none may reach an agent raw. */
const SECRETS = CUSTOMERS.flatMap((c) => [
  c[2],
  c[3],
  c[4],
  c[5],
  c[6],
  c[7],
  c[9],
  "612-48-3390",
  "287-65-4301",
]);
/** A digit run of each SSN: an oracle's or a partial computation's tell. */
const SSN_DIGITS = ["536228417", "401732290", "612483390", "287654301"];

function leaks(bytes: Uint8Array): string[] {
  const hay = Buffer.from(bytes).toString("latin1");
  return [...SECRETS, ...SSN_DIGITS].filter((s) => hay.includes(s));
}

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let proxy: Awaited<ReturnType<typeof captureProxy>>;
let agentSimple: postgres.Sql;
let agentExtended: postgres.Sql;

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  const rows = CUSTOMERS.map(
    (c) =>
      `(${c[0]}, ${c
        .slice(1)
        .map((v) => `'${v}'`)
        .join(", ")})`,
  ).join(", ");
  db.sql(
    `create table customers (id int primary key, name text, ssn text, card text, email text, phone text,
       iban text, dob date, memo text, ref_code text);
     insert into customers values ${rows};
     create index customers_ssn_idx on customers (ssn);
     create view v as select id, ssn as tin, name from customers;
     create view vv as select id, tin as code from v;
     create table orders (id int, customer_id int, total int);
     insert into orders values (10, 1, 120), (11, 2, 80), (12, 1, 45);
     create sequence s;
     analyze customers;
     grant select on all tables in schema public to ${db.roles.scram.user};
     grant usage, select, update on sequence s to ${db.roles.scram.user};`,
    "ledger",
  );
  gw = await startTestGateway({
    pg: db,
    issuer,
    connection: { column_labels: { "public.customers.ref_code": ["ssn"] } },
    config: { console: { roles: { admin: [], approver: [], auditor: ["auditors"] } } },
  });
  proxy = await captureProxy(gw.port);
  const token = await gw.token("agent-1", ["agents"]);
  const url = `postgres://agent:${encodeURIComponent(token)}@127.0.0.1:${proxy.port}/ledger?sslmode=disable`;
  agentSimple = postgres(url, { max: 1, prepare: false, onnotice: () => {} });
  agentExtended = postgres(url, { max: 1, prepare: true, onnotice: () => {} });
  // The scan at start finds `memo` (SSNs nobody named): wait for its audit event.
  await waitForEvent(gw, (e) => e.type === "classification.scan", 30_000);
}, 90_000);

afterAll(async () => {
  await agentSimple?.end({ timeout: 1 });
  await agentExtended?.end({ timeout: 1 });
  proxy?.stop();
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
}, 30_000);

type Outcome = { ok: true; rows: unknown[] } | { ok: false; code: string; message: string };

async function run(sql: postgres.Sql, text: string, extended: boolean): Promise<Outcome> {
  try {
    const rows = extended ? await sql.unsafe(text, [], { prepare: true }) : await sql.unsafe(text).simple();
    return { ok: true, rows: [...rows] };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return { ok: false, code: e.code ?? "", message: e.message ?? String(err) };
  }
}

/** Attacks: each must be refused (SQLSTATE 42501) on both protocols. */
const ATTACKS: string[] = [
  // whole-row references in every clause
  "select id from customers c where (c.*)::text like '%53%'",
  "select id from customers c where c::text like '%53%'",
  "select id from customers c order by (c.*)::text",
  "select o.id from orders o join customers c on (c.*)::text like '%' || o.id || '%'",
  "select 1/(position('5' in (c.*)::text) - 1) from customers c",
  "select row(c.*) from customers c",
  "select json_agg(c) from customers c",
  "select to_jsonb(c) ->> 'ssn' from customers c",
  // attribute notation that calls a function
  "select c.row_to_json from customers c",
  "select (c).row_to_json from customers c",
  // positional references
  "select id, ssn from customers order by 2",
  "select ssn, count(*) from customers group by 1",
  "select id, ssn from customers order by 2 limit 1",
  // a view renaming ssn
  "select id from v where tin like '53%'",
  "select upper(tin) from v",
  "select id from vv where code > '4'",
  "select left(code, 3) from vv",
  "select id from v order by tin",
  // no column rule needed: iban, lower-cased past the detector
  "select lower(iban) from customers",
  "select replace(iban, 'DE', '') from customers",
  // CTEs, subqueries, joins, windows, DISTINCT ON
  "with x as (select id, ssn as a from customers) select id from x where a like '5%'",
  "with x as materialized (select ssn as a from customers) select upper(a) from x",
  "select id from (select id, ssn as k from customers) s where k > '4'",
  "select (select ssn from customers limit 1)",
  "select id, row_number() over (partition by ssn) from customers",
  "select id, rank() over (order by tin) from v",
  "select distinct on (ssn) id from customers",
  "select o.id from orders o join customers c on c.ssn = o.id::text",
  "select (c).ssn || '' from customers c",
  "select c.ssn::bytea from customers c",
  // error-message oracles
  "select 1/(ssn='536-22-8417')::int from customers",
  "select cast(ssn as int) from customers",
  "select 1/(memo like '%612%')::int from customers",
  // a column nobody named: found by the scan, or labelled in the configuration
  "select upper(memo) from customers",
  "select id from customers where ref_code like 'K7%'",
  "select ssn from customers union select name from customers",
  // statistics of values
  "select most_common_vals::text from pg_stats where tablename = 'customers'",
  "select histogram_bounds from pg_stats",
];

/** Look-alikes that must keep working. */
const HARMLESS: [string, (rows: unknown[]) => void][] = [
  ["select id, name from customers order by 2", (r) => expect(r).toHaveLength(2)],
  ["select count(*) as n from customers", (r) => expect(Number((r[0] as { n: string }).n)).toBe(2)],
  [
    "select c.name, sum(o.total) as t from customers c join orders o on o.customer_id = c.id group by 1 order by 1",
    (r) => expect(r).toHaveLength(2),
  ],
  ["select ssn, name from customers order by id", (r) => expect(r).toHaveLength(2)],
  ["select tin, name from v order by name", (r) => expect(r).toHaveLength(2)],
  ["select * from customers where id = 1", (r) => expect(r).toHaveLength(1)],
  ["select memo from customers where id = 2", (r) => expect(r).toHaveLength(1)],
  [
    "select lower(name), coalesce(name, 'x'), now() is not null as t from customers",
    (r) => expect(r).toHaveLength(2),
  ],
  [
    "with x as (select id, name from customers) select upper(name) from x where id > 0",
    (r) => expect(r).toHaveLength(2),
  ],
  ["select id from customers where name like 'A%'", (r) => expect(r).toHaveLength(1)],
  ["select random() < 2 as r, gen_random_uuid() is not null as u", (r) => expect(r).toHaveLength(1)],
  [
    "select json_build_object('n', name) as j, concat('x', name) as c from customers",
    (r) => expect(r).toHaveLength(2),
  ],
  [
    "select o.customer_id, count(*) from orders o group by 1 order by 2 desc",
    (r) => expect(r).toHaveLength(2),
  ],
  ["select distinct name from customers", (r) => expect(r).toHaveLength(2)],
];

describe.each([
  ["simple", false],
  ["extended", true],
] as const)("agent over the %s protocol", (_name, extended) => {
  const sql = () => (extended ? agentExtended : agentSimple);

  test.each(ATTACKS)("refused: %s", async (text) => {
    const before = proxy.bytes().length;
    const out = await run(sql(), text, extended);
    expect(out.ok ? "allowed" : out.code).toBe("42501");
    expect(leaks(proxy.bytes().subarray(before))).toEqual([]);
  });

  test.each(HARMLESS)("works: %s", async (text, check) => {
    const before = proxy.bytes().length;
    const out = await run(sql(), text, extended);
    if (!out.ok) throw new Error(`${text}: ${out.code} ${out.message}`);
    check(out.rows);
    expect(leaks(proxy.bytes().subarray(before))).toEqual([]);
  });
});

describe("bind parameters (drivers' extended protocol)", () => {
  test("a parameterised read of plain columns works; a parameterised oracle on a view column is refused", async () => {
    const rows = await agentExtended.unsafe(
      "select name from customers where id = $1 and name <> $2",
      [1, "x"],
      {
        prepare: true,
      },
    );
    expect(rows).toHaveLength(1);
    const before = proxy.bytes().length;
    const out = await agentExtended
      .unsafe("select id from vv where code like $1", ["53%"], { prepare: true })
      .then(
        () => "allowed",
        (e: { code?: string }) => e.code,
      );
    expect(out).toBe("42501");
    expect(leaks(proxy.bytes().subarray(before))).toEqual([]);
  });
});

describe("masking by resolved source", () => {
  test("a view's renamed column, a scanned column and a labelled one come back masked", async () => {
    const before = proxy.bytes().length;
    const rows = await agentSimple
      .unsafe("select v.tin, c.memo, c.ref_code, c.iban from v join customers c using (id)")
      .simple();
    expect(rows).toHaveLength(2);
    expect(leaks(proxy.bytes().subarray(before))).toEqual([]);
  });
});

describe("side-effect functions", () => {
  const read = () =>
    Number(
      db
        .sql("select last_value from s", "ledger")
        .trim()
        .split("\n")
        .find((l) => /^\s*\d+\s*$/.test(l)),
    );
  const probes = [
    "select nextval('s')",
    "select setval('s', 100)",
    "select pg_catalog.setval('public.s'::regclass, 500, true)",
    "select pg_advisory_lock(42)",
    "select pg_try_advisory_xact_lock(42)",
    "select pg_sleep(0)",
    "select pg_notify('c', 'x')",
    "select txid_current()",
    "select pg_current_xact_id()",
    "select pg_stat_reset()",
    "select id from customers where id = nextval('s')",
    "select * from pg_stat_activity",
  ];
  for (const extended of [false, true])
    test.each(probes)(`refused (${extended ? "extended" : "simple"}): %s`, async (text) => {
      const seq = read();
      const out = await run(extended ? agentExtended : agentSimple, text, extended);
      expect(out.ok ? "allowed" : out.code).toBe("42501");
      expect(read()).toBe(seq);
    });

  test("no advisory lock is held by anyone after the probes", () => {
    expect(db.sql("select count(*) from pg_locks where locktype = 'advisory'", "ledger")).toMatch(/\b0\b/);
  });
});

describe("classification", () => {
  test("the scan found the unnamed memo column, and its event names columns and classes only", async () => {
    const e = await waitForEvent(gw, (x) => x.type === "classification.scan", 5_000);
    const findings = (e.data as { findings: { column: string; labels: string[] }[] }).findings;
    const memo = findings.find((f) => f.column === "public.customers.memo");
    expect(memo?.labels).toContain("ssn");
    expect(leaks(Buffer.from(JSON.stringify(e)))).toEqual([]);
  });
});

describe("discovery after start", () => {
  test("a table created later is unknown until a scan finds its memo; then its decisions change", async () => {
    db.sql(
      `create table notes (id int, memo2 text);
       insert into notes select g, 'caller gave 536-22-8417 again' from generate_series(1, 5) g;
       grant select on notes to ${db.roles.scram.user};`,
      "ledger",
    );
    const q = "select id from notes where memo2 like '%8417%'";
    // Nobody named memo2 and no scan has seen it: the filter is allowed (this is what the scan is for).
    expect((await run(agentSimple, q, false)).ok).toBe(true);
    const view = await gw.gw.classify("ledger");
    expect(view?.scan?.findings.map((f) => f.column)).toContain("public.notes.memo2");
    const out = await run(agentSimple, q, false);
    expect(out.ok ? "allowed" : out.code).toBe("42501");
    const before = proxy.bytes().length;
    const rows = await agentSimple.unsafe("select memo2 from notes where id = 1").simple();
    expect(rows).toHaveLength(1);
    expect(leaks(proxy.bytes().subarray(before))).toEqual([]);
  });

  test("a view redefined upstream (outside the gateway) changes the decisions of its shapes within seconds", async () => {
    db.sql(
      `create view w as select id, name as code from customers; grant select on w to ${db.roles.scram.user};`,
      "ledger",
    );
    const q = (n: number) => `select id from w where code like 'A${n}%'`;
    expect((await run(agentSimple, q(1), false)).ok).toBe(true);
    db.sql("create or replace view w as select id, ssn as code from customers", "ledger");
    let refused = false;
    for (let i = 0; i < 60 && !refused; i++) {
      await Bun.sleep(250);
      const out = await run(agentSimple, q(i + 2), false);
      refused = !out.ok && out.code === "42501";
    }
    expect(refused).toBe(true);
  }, 30_000);

  test("GET /api/connections/ledger/classification shows configured labels and findings, no values", async () => {
    const token = await gw.token("audrey", ["auditors"]);
    const res = await fetch(`http://127.0.0.1:${gw.httpPort}/api/connections/ledger/classification`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as {
      configured: { column: string; labels: string[] }[];
      scan: { findings: { column: string; labels: string[] }[] };
    };
    expect(body.configured).toEqual([{ column: "public.customers.ref_code", labels: ["ssn"] }]);
    expect(body.scan.findings.find((f) => f.column === "public.customers.memo")?.labels).toContain("ssn");
    expect(leaks(Buffer.from(text))).toEqual([]);
    const missing = await fetch(`http://127.0.0.1:${gw.httpPort}/api/connections/nope/classification`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(missing.status).toBe(404);
    const anonymous = await fetch(`http://127.0.0.1:${gw.httpPort}/api/connections/ledger/classification`);
    expect(anonymous.status).toBe(401);
  });

  test("custos connections classify prints the recorded findings (and a fresh scan), no values", async () => {
    await gw.gw.recorder.durable();
    const file = `${gw.dataDir}/classify-config.json`;
    await Bun.write(file, JSON.stringify(rawConfig(gw)));
    const env = { ...process.env, LEDGER_DB_PASSWORD: db.roles.scram.password };
    for (const extra of [[], ["--scan"]]) {
      const proc = Bun.spawn(["./custos", "connections", "classify", "ledger", "--config", file, ...extra], {
        stdout: "pipe",
        stderr: "pipe",
        env,
      });
      const [out, err, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      expect(err).toBe("");
      expect(code).toBe(0);
      expect(out).toContain("public.customers.memo  ssn");
      expect(out).toContain("public.customers.ref_code  ssn  (configured)");
      expect(leaks(Buffer.from(out))).toEqual([]);
    }
  }, 60_000);
});

/** The test gateway's config as a file the CLI can load (same store, same target). */
function rawConfig(t: TestGateway): Record<string, unknown> {
  const c = t.config.connections[0]!;
  return {
    data_dir: t.dataDir,
    identity: { issuers: [{ issuer: issuer.issuer, audience: "custos" }] },
    connections: [
      {
        name: c.name,
        type: "postgres",
        target: {
          host: c.target.host,
          port: c.target.port,
          database: c.target.database,
          user: c.target.user,
          password_env: "LEDGER_DB_PASSWORD",
          tls: "disable",
        },
        allow_groups: ["agents"],
        column_labels: c.columnLabels,
      },
    ],
  };
}
