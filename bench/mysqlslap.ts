// mysqlslap (mariadb-slap) read-only through Custos vs direct to the same MariaDB, both over TLS: one
// point query, N concurrent clients, each on its own connection. Prints queries per second per run and
// the ratio. `bun bench/mysqlslap.ts [concurrency] [queries]`.
import { AGENT, startMysqlHarness } from "../test/mysql/support.ts";

const concurrency = Number(process.argv[2] ?? 4);
const queries = Number(process.argv[3] ?? 8000);
const QUERY = "SELECT id, name, email FROM customers WHERE id = 1";

async function slap(port: number, user: string, password: string): Promise<number> {
  const args = [
    "mariadb-slap",
    "-h",
    "127.0.0.1",
    "-P",
    String(port),
    "-u",
    user,
    `-p${password}`,
    "--ssl",
    "--skip-ssl-verify-server-cert",
    "--create-schema=loans",
    "--no-drop",
    `--query=${QUERY}`,
    `--concurrency=${concurrency}`,
    `--number-of-queries=${queries}`,
    "--iterations=1",
  ];
  const proc = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`mariadb-slap failed: ${err}`);
  const secs = Number(/Average number of seconds to run all queries: ([\d.]+)/.exec(out)?.[1]);
  return queries / secs;
}

const h = await startMysqlHarness();
try {
  const human = await h.token("bench-dba", ["dba"]);
  const agent = await h.token("bench-agent", AGENT);
  await slap(h.db.port, h.db.user, h.db.password); // warm-up
  await slap(h.port, "loans", human);
  const rows: [string, number][] = [];
  for (let round = 0; round < 3; round++) {
    rows.push(["direct", await slap(h.db.port, h.db.user, h.db.password)]);
    rows.push(["custos (human, no masks)", await slap(h.port, "loans", human)]);
    rows.push(["custos (agent, masked)", await slap(h.port, "loans", agent)]);
  }
  const median = (name: string) => {
    const v = rows
      .filter((r) => r[0] === name)
      .map((r) => r[1])
      .sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)]!;
  };
  for (const [name, qps] of rows) console.log(`${name.padEnd(28)} ${qps.toFixed(0)} q/s`);
  const direct = median("direct");
  for (const name of ["custos (human, no masks)", "custos (agent, masked)"])
    console.log(
      `median ${name}: ${median(name).toFixed(0)} q/s, ${(median(name) / direct).toFixed(2)} of direct (${direct.toFixed(0)} q/s)`,
    );
} finally {
  await h.stop();
}
