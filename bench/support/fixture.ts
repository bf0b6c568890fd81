// The data the scenarios read: pgbench's own tables, and a table of wide rows with regulated-looking
// columns (email, phone, ssn, card_number) for the result-heavy query that masking applies to.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CustosError } from "../../src/core/errors.ts";
import type { PgServer } from "../../test/support/postgres.ts";
import { pgbenchEnv } from "./pgbench.ts";
import { directEndpoint } from "./targets.ts";

export const WIDE_COLUMNS = "id, name, email, phone, ssn, card_number, note, order_id, created_at, amount";
export const WIDE_QUERY = `SELECT ${WIDE_COLUMNS} FROM bench_wide WHERE id <= 1000 ORDER BY id`;

export function initPgbench(pgbench: string, pg: PgServer, scale: number): string {
  const cmd = [pgbench, "-i", "-q", "-s", String(scale), "-h", "127.0.0.1", "-p", String(pg.port)].concat([
    "-U",
    pg.roles.scram.user,
    pg.database,
  ]);
  const p = Bun.spawnSync(cmd, { env: pgbenchEnv(directEndpoint(pg)), stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0)
    throw new CustosError("internal", `pgbench -i failed: ${p.stderr.toString().slice(-600)}`);
  return `pgbench -i -q -s ${scale}`;
}

export function createWideTable(pg: PgServer): void {
  pg.sql(
    `CREATE TABLE bench_wide (id int PRIMARY KEY, name text, email text, phone text, ssn text, card_number text,
       note text, order_id bigint, created_at timestamptz, amount numeric(12,2));
     INSERT INTO bench_wide
     SELECT i, 'Customer Number ' || lpad(i::text, 4, '0') || ' Lovelace-Byron',
            'customer.' || i || '@example-bank.com',
            '(212) 555-' || lpad((i % 10000)::text, 4, '0'),
            lpad((100 + i % 600)::text, 3, '0') || '-45-' || lpad((1000 + i)::text, 4, '0'),
            '4111 1111 1111 1111',
            'Order ' || (9876543210000000 + i) || ' shipped via ground, ref ' || lpad(i::text, 6, '0') || ', no issues',
            9876543210000000 + i, '2024-03-01 10:00:00+00'::timestamptz + i * interval '1 minute', i + 0.25
     FROM generate_series(1, 1000) AS i;
     GRANT SELECT ON bench_wide TO PUBLIC;`,
    pg.database,
  );
  // VACUUM refuses to run inside the implicit transaction of a multi-statement query.
  pg.sql("VACUUM ANALYZE bench_wide", pg.database);
  pg.sql("VACUUM ANALYZE", pg.database);
}

export function writeWideScript(dir: string): string {
  const path = join(dir, "wide.sql");
  writeFileSync(path, `${WIDE_QUERY};\n`);
  return path;
}

// One autocommit INSERT per transaction (the durable write path), and a pipeline of 50 of them ended by one
// Sync (libpq pipeline mode, as psycopg's executemany and pgJDBC's batches send them): one commit each.
const INSERT_ROW =
  "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, :aid, :delta, CURRENT_TIMESTAMP);";
export const PIPELINE_ROWS = 50;

export function writeInsertScripts(dir: string): { insert: string; pipeline: string } {
  const insert = join(dir, "insert.sql");
  writeFileSync(insert, `\\set aid random(1, 100000)\n\\set delta random(-5000, 5000)\n${INSERT_ROW}\n`);
  const pipeline = join(dir, "pipeline.sql");
  const rows = Array.from({ length: PIPELINE_ROWS }, () => INSERT_ROW).join("\n");
  writeFileSync(
    pipeline,
    `\\set aid random(1, 100000)\n\\set delta random(-5000, 5000)\n\\startpipeline\n${rows}\n\\endpipeline\n`,
  );
  return { insert, pipeline };
}
