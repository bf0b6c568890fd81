// Real clients against the demo database: psql as a child process. Bytes no driver sends go through
// test/support/raw-client.ts.
import type { DemoDatabase } from "../../src/demo/database.ts";

export function demoUrl(
  db: DemoDatabase,
  overrides: { user?: string; password?: string; database?: string } = {},
) {
  const user = overrides.user ?? db.user;
  const password = encodeURIComponent(overrides.password ?? db.password);
  return `postgres://${user}:${password}@${db.host}:${db.port}/${overrides.database ?? db.database}`;
}

export interface PsqlResult {
  code: number;
  out: string;
  err: string;
}

/** psql -At: unaligned, tuples only. Killed after 15 s so a hung server fails the test instead of the suite. */
export async function psql(url: string, ...commands: string[]): Promise<PsqlResult> {
  const proc = Bun.spawn(["/usr/bin/psql", url, "-X", "-At", ...commands.flatMap((c) => ["-c", c])], {
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "", PGCONNECT_TIMEOUT: "5" },
    timeout: 15_000,
  });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, out: out.trim(), err };
}
