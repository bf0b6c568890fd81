// Throughput of a wide-row result stream through Custos, unmasked and masked, against direct, in one run
// (issue 4): MB/s and rows/s of `select * from bench_wide` (20,000 rows × 10 columns, ~5 MB), and the
// time added to a 1,000-row result. Targets alternate per round. The gateway runs in this process (the
// test gateway: real PostgreSQL, real policy bundle, recording on), the client is postgres.js with raw
// (unparsed) rows so the client's own parsing does not dominate.
//   unmasked:   a human through Custos (the default pack masks nothing for humans)
//   by column:  an agent, default pack with the detectors removed (4 columns masked by name)
//   detectors:  an agent, the shipped default pack (columns + card/ssn/iban/email/phone on every column)
// Run: bun bench/masking-stream.ts [--rounds N]
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { startTestGateway } from "../test/support/gateway.ts";
import { startOidcIssuer } from "../test/support/oidc-issuer.ts";
import { defaultBundle } from "../test/support/policy-bundle.ts";
import { startPostgres } from "../test/support/postgres.ts";

const ROWS = 20_000;
const SMALL = 1_000;
const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1] || 5);

const pg = await startPostgres();
pg.sql(
  `create table bench_wide (id int primary key, name text, email text, phone text, ssn text, card_number text,
     note text, order_id bigint, created_at timestamptz, amount numeric(12,2));
   insert into bench_wide select g, 'Customer Number ' || g || ' Lovelace-Byron',
     'customer.' || g || '@example-bank.com', '(212) 555-' || lpad((g % 10000)::text, 4, '0'),
     lpad((100 + g % 600)::text, 3, '0') || '-45-' || lpad((1000 + g % 9000)::text, 4, '0'),
     '4111 1111 1111 1111',
     case when g % 50 = 0 then 'Refund to card 4111 1111 1111 1111, caller SSN 078-05-1120'
          else 'Order ' || (9876543210000000 + g) || ' shipped 2024-03-01 via ground, ref ' || g || ', no issues' end,
     9876543210000000 + g, timestamptz '2024-03-01' + g * interval '1 minute', g / 7.0
   from generate_series(1, ${ROWS}) g;
   analyze bench_wide;
   grant select on bench_wide to custos_scram;`,
  "ledger",
);
const issuer = await startOidcIssuer();

// The default pack without detectors, for the "masked by column" target.
const polDir = mkdtempSync(join(tmpdir(), "custos-bench-policy-"));
cpSync(join(import.meta.dir, "../policy"), polDir, { recursive: true });
rmSync(join(polDir, "build"), { recursive: true, force: true });
const dataPath = join(polDir, "custos/lists/data.json");
const data = JSON.parse(readFileSync(dataPath, "utf8"));
data.mask_detectors = {};
writeFileSync(dataPath, JSON.stringify(data));
const columnBundle = join(polDir, "columns.tar.gz");
const built = Bun.spawnSync(["./custos", "policy", "build", polDir, "--output", columnBundle], {
  cwd: join(import.meta.dir, ".."),
  stderr: "pipe",
});
if (built.exitCode !== 0) throw new Error(`policy build failed: ${built.stderr}`);

const gwDefault = await startTestGateway({ pg, issuer, policyBundle: await defaultBundle() });
const gwColumns = await startTestGateway({ pg, issuer, policyBundle: columnBundle });

const opts = { max: 1, onnotice: () => {}, prepare: true };
const targets = {
  direct: postgres(pg.url(pg.roles.scram, "ledger"), opts),
  unmasked: postgres(gwDefault.url(await gwDefault.token("human@bank", ["dba"])), opts),
  "by column": postgres(gwColumns.url(await gwColumns.token("agent@bank", ["agents"])), opts),
  detectors: postgres(gwDefault.url(await gwDefault.token("agent@bank", ["agents"])), opts),
};
type Name = keyof typeof targets;
const names = Object.keys(targets) as Name[];

const BIG = "select * from bench_wide";
const SMALL_Q = `select * from bench_wide where id <= ${SMALL}`;

async function run(name: Name, q: string): Promise<{ ms: number; bytes: number; rows: number }> {
  const t0 = performance.now();
  const rows = (await targets[name].unsafe(q).raw()) as unknown as (Buffer | null)[][];
  const ms = performance.now() - t0;
  let bytes = 0;
  for (const r of rows) for (const v of r) bytes += v ? v.length : 0;
  return { ms, bytes, rows: rows.length };
}

// Warm up: connections, catalog lookups, decision caches, JIT.
for (const n of names) for (let i = 0; i < 3; i++) await run(n, BIG);
for (const n of names) for (let i = 0; i < 20; i++) await run(n, SMALL_Q);

// Sanity: masking is active where it should be.
const probe = async (n: Name) =>
  (
    (await targets[n].unsafe("select ssn, note from bench_wide where id = 50")) as {
      ssn: string;
      note: string;
    }[]
  )[0]!;
console.error("probe", Object.fromEntries(await Promise.all(names.map(async (n) => [n, await probe(n)]))));

const big: Record<Name, number[]> = { direct: [], unmasked: [], "by column": [], detectors: [] };
const small: Record<Name, number[]> = { direct: [], unmasked: [], "by column": [], detectors: [] };
let bytesDirect = 0;
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? names : [...names].reverse();
  for (const n of order) {
    const res = await run(n, BIG);
    if (res.rows !== ROWS) throw new Error(`${n}: ${res.rows} rows`);
    big[n].push(res.ms);
    if (n === "direct") bytesDirect = res.bytes;
  }
  for (const n of order) for (let i = 0; i < 40; i++) small[n].push((await run(n, SMALL_Q)).ms);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const mb = bytesDirect / 1e6;
console.log(`bench_wide: ${ROWS} rows, ${mb.toFixed(1)} MB of values; ${rounds} rounds; median per target`);
console.log(
  "| target | MB/s | rows/s | vs direct | vs unmasked | 1,000-row result (median ms) | added vs unmasked |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const n of names) {
  const ms = median(big[n]);
  const mbs = mb / (ms / 1000);
  const rps = ROWS / (ms / 1000);
  const vsDirect = median(big.direct) / ms;
  const vsUnmasked = median(big.unmasked) / ms;
  const s = median(small[n]);
  const added = s - median(small.unmasked);
  console.log(
    `| ${n} | ${mbs.toFixed(1)} | ${Math.round(rps).toLocaleString("en-US")} | ${vsDirect.toFixed(2)} | ${vsUnmasked.toFixed(2)} | ${s.toFixed(2)} | ${n === "direct" || n === "unmasked" ? "–" : `${added >= 0 ? "+" : ""}${added.toFixed(2)} ms`} |`,
  );
}

for (const c of Object.values(targets)) await c.end();
await gwDefault.stop();
await gwColumns.stop();
await issuer.stop();
await pg.stop();
rmSync(polDir, { recursive: true, force: true });
