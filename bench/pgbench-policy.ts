// pgbench select-only (simple and prepared protocol, 8 clients) direct versus through the gateway with the
// default policy pack on and an agent identity, alternating in one run. Self-contained: starts its own
// PostgreSQL, OIDC issuer and gateway. Run: bun bench/pgbench-policy.ts [seconds per run, default 15]
import { startTestGateway } from "../test/support/gateway.ts";
import { startOidcIssuer } from "../test/support/oidc-issuer.ts";
import { pgBin, startPostgres } from "../test/support/postgres.ts";

const seconds = Number(process.argv[2] ?? 15);
const clients = 8;

const [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
const gw = await startTestGateway({ pg: db, issuer });
const token = await gw.token("bench-agent", ["agents"]);

async function pgbench(args: string[], env: Record<string, string>): Promise<string> {
  const proc = Bun.spawn([pgBin("pgbench"), ...args], {
    env: { ...process.env, PGSSLMODE: "disable", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new Error(`pgbench ${args.join(" ")} failed: ${err}`);
  return out;
}

const direct = {
  host: "127.0.0.1",
  port: db.port,
  user: db.roles.scram.user,
  password: db.roles.scram.password,
};
const gateway = { host: "127.0.0.1", port: gw.port, user: "bench-agent", password: token };
const conn = (t: typeof direct) => ({
  args: ["-h", t.host, "-p", String(t.port), "-U", t.user, "ledger"],
  env: { PGPASSWORD: t.password },
});

try {
  await pgbench(["-i", "-q", "-s", "4", ...conn(direct).args], conn(direct).env);
  const rows: string[] = [];
  for (const mode of ["simple", "prepared"] as const) {
    const tps: Record<string, number> = {};
    const lat: Record<string, number> = {};
    // Alternating direct / gateway, each target twice, so drift on the shared machine hits both.
    for (const round of [0, 1]) {
      for (const [name, target] of [
        ["direct", direct],
        ["gateway", gateway],
      ] as const) {
        const c = conn(target);
        const out = await pgbench(
          ["-S", "-M", mode, "-c", String(clients), "-j", "2", "-T", String(seconds), "-n", ...c.args],
          c.env,
        );
        const t = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
        const l = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1]);
        tps[name] = (tps[name] ?? 0) + t / 2;
        lat[name] = (lat[name] ?? 0) + l / 2;
        console.error(`${mode} ${name} round ${round}: ${t.toFixed(0)} tps, ${l.toFixed(3)} ms`);
      }
    }
    rows.push(
      `| select-only, ${mode}, ${clients} clients | ${tps.direct!.toFixed(0)} (${lat.direct!.toFixed(3)} ms) | ${tps.gateway!.toFixed(0)} (${lat.gateway!.toFixed(3)} ms) | ${(tps.gateway! / tps.direct!).toFixed(2)} |`,
    );
  }
  console.log("| pgbench | direct TPS (avg latency) | gateway, policy on, agent TPS (avg latency) | ratio |");
  console.log("|---|---|---|---|");
  console.log(rows.join("\n"));
} finally {
  await gw.stop();
  await Promise.all([db.stop(), issuer.stop()]);
}
