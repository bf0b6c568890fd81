// Whether Custos masks the wide table's regulated columns for the agent identity: the same row read
// directly and through Custos, compared. Until masking is wired into the gateway the two are equal.
import { CustosError } from "../../src/core/errors.ts";
import { pgbenchEnv } from "./pgbench.ts";
import type { Endpoint } from "./targets.ts";

const PROBE = "SELECT ssn, card_number, email FROM bench_wide WHERE id = 1";

async function readRow(psql: string, ep: Endpoint, asAgent: boolean): Promise<string> {
  const proc = Bun.spawn(
    [
      psql,
      "-X",
      "-At",
      "-h",
      "127.0.0.1",
      "-p",
      String(ep.port),
      "-U",
      ep.user,
      "-d",
      ep.database,
      "-c",
      PROBE,
    ],
    { env: pgbenchEnv(ep, asAgent), stdout: "pipe", stderr: "pipe" },
  );
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) throw new CustosError("internal", `probe query against ${ep.name} failed: ${err.trim()}`);
  return out.trim();
}

export async function maskingActive(psql: string, direct: Endpoint, custos: Endpoint): Promise<boolean> {
  const [a, b] = await Promise.all([readRow(psql, direct, false), readRow(psql, custos, true)]);
  return a !== b;
}
