// Audit commits per autocommit write, and wall time per statement, through an in-process test gateway
// (SQLite store, audit.sync=writes), with direct PostgreSQL beside it. The commit counts do not depend on
// timing: they say how many times a write waited for the recorder. Usage: bun bench/durable-commits.ts [n]
import { startTestGateway } from "../test/support/gateway.ts";
import { startOidcIssuer } from "../test/support/oidc-issuer.ts";
import { startPostgres } from "../test/support/postgres.ts";
import { bind, execute, login, parse, query, type RawClient, sync } from "../test/support/raw-client.ts";

const n = Number(process.argv[2] ?? 200);
const [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
db.sql("CREATE TABLE w (id int primary key, note text)", "ledger");
db.sql(`GRANT ALL ON w TO ${db.roles.scram.user}`, "ledger");
const gw = await startTestGateway({ pg: db, issuer });
const token = await gw.token("dba@bank.example", ["dba"]);
let next = 1;
const row = () => `insert into w values (${next++}, 'x')`;

const paths: [string, number, (c: RawClient) => Promise<void>][] = [
  ["simple autocommit INSERT", 1, async (c) => void (await c.simpleQuery(row()))],
  [
    "extended autocommit INSERT",
    1,
    async (c) => {
      c.send(parse("", row()), bind(""), execute(), sync());
      await c.untilReady();
    },
  ],
  [
    "pipeline, 50 Executes + 1 Sync",
    50,
    async (c) => {
      for (let i = 0; i < 50; i++) c.send(parse("", row()), bind(""), execute());
      c.send(sync());
      await c.untilReady();
    },
  ],
];

const lines = ["| path | audit commits / statement | ms / statement |", "|---|---:|---:|"];
for (const [name, per, run] of paths) {
  const { client } = await login(gw.port, token);
  const reps = Math.max(1, Math.round(n / per));
  await run(client);
  const before = gw.gw.recorder.stats().commits;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await run(client);
  const ms = performance.now() - t0;
  const commits = gw.gw.recorder.stats().commits - before;
  lines.push(`| ${name} | ${(commits / (reps * per)).toFixed(2)} | ${(ms / (reps * per)).toFixed(2)} |`);
  client.close();
}
console.log(lines.join("\n"));
await gw.stop();
await Promise.all([db.stop(), issuer.stop()]);
