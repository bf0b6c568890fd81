// psycopg `executemany` of 500 rows in pipeline mode (issue 23's example), direct vs through an in-process
// test gateway (SQLite store, audit.sync=writes), alternating. Usage: bun bench/executemany.ts [rounds]
// Needs the driver venv (scripts/setup-driver-deps prints PYTHON=…).
import { startTestGateway } from "../test/support/gateway.ts";
import { startOidcIssuer } from "../test/support/oidc-issuer.ts";
import { startPostgres } from "../test/support/postgres.ts";

const rounds = Number(process.argv[2] ?? 3);
const deps = Bun.spawnSync(["sh", "scripts/setup-driver-deps"], {
  cwd: `${import.meta.dir}/..`,
  stderr: "ignore",
});
const found = /PYTHON=(.*)/.exec(deps.stdout.toString())?.[1];
if (!found) throw new Error("scripts/setup-driver-deps did not print PYTHON=");
const python: string = found;
const [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
db.sql("CREATE TABLE em (id int, note text)", "ledger");
db.sql(`GRANT ALL ON em TO ${db.roles.scram.user}`, "ledger");
const gw = await startTestGateway({ pg: db, issuer });
const token = await gw.token("dba@bank.example", ["dba"]);
const script = `
import sys, time, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as c:
    cur = c.cursor()
    rows = [(i, "n%d" % i) for i in range(500)]
    cur.executemany("insert into em values (%s, %s)", rows)
    t = time.perf_counter()
    cur.executemany("insert into em values (%s, %s)", rows)
    print("%.1f" % ((time.perf_counter() - t) * 1000))
`;
async function run(url: string): Promise<number> {
  const p = Bun.spawn([python, "-c", script, url], { stdout: "pipe", stderr: "pipe" });
  const [out, err] = [await new Response(p.stdout).text(), await new Response(p.stderr).text()];
  if ((await p.exited) !== 0) throw new Error(err);
  return Number(out.trim());
}
const direct: number[] = [];
const custos: number[] = [];
const commits: number[] = [];
for (let r = 0; r < rounds; r++) {
  direct.push(await run(db.url(db.roles.scram, "ledger")));
  const before = gw.gw.recorder.stats().commits;
  custos.push(await run(gw.url(token, "ledger")));
  commits.push(gw.gw.recorder.stats().commits - before);
}
console.log(
  `executemany 500 rows, pipeline mode (ms): direct ${direct.join(", ")}; Custos ${custos.join(", ")}; audit commits per Custos run (2 × 500 rows): ${commits.join(", ")}`,
);
await gw.stop();
await Promise.all([db.stop(), issuer.stop()]);
