// Locates the benchmark's tools; bench/run (the sh entry) installs the Debian packages when absent.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CustosError } from "../../src/core/errors.ts";
import { pgBin } from "../../test/support/postgres.ts";

export interface Tools {
  pgbench: string;
  pgbouncer: string;
  psql: string;
  /** The HTTP scenario's runner (owned by the HTTP gateway work), when present. */
  httpBench: string | null;
}

export function findTools(root: string): Tools {
  const pgbouncer =
    Bun.which("pgbouncer") ?? (existsSync("/usr/sbin/pgbouncer") ? "/usr/sbin/pgbouncer" : null);
  if (!pgbouncer)
    throw new CustosError("internal", "pgbouncer not found: run bench/run (it installs it with apt-get)");
  const httpBench = ["bench/http/run", "bench/http/run.ts"]
    .map((p) => join(root, p))
    .find((p) => existsSync(p));
  return { pgbench: pgBin("pgbench"), pgbouncer, psql: pgBin("psql"), httpBench: httpBench ?? null };
}
