// pgJDBC with HikariCP (Maven artifacts, java -cp) through the gateway, compared with the same probe run
// directly: isValid(), batches, prepared statements, CopyManager, fetch-size cursors, LargeObjectManager.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { describeDriver, driverDeps, FIXTURE_ROWS, runProbe, targetEnv } from "./support.ts";

const deps = driverDeps();
const source = join(import.meta.dir, "java", "Probe.java");

describeDriver(
  "pgJDBC + HikariCP",
  {
    probe: (t) =>
      runProbe(
        ["java", "-Dcom.zaxxer.hikari.aliveBypassWindowMs=0", "-cp", deps.JDBC_CLASSPATH, source],
        targetEnv(t),
        120_000,
      ),
    direct: {
      connect: ["custos_scram", "ledger"],
      simple: [String(FIXTURE_ROWS), "156562.50", "item 99 é€"],
      extended: {
        row: [42, "é€ 'quote' \\ back", "12345.67", "0001ff", "null"],
        named: ["item 7 é€", "item 8 é€", "item 9 é€"],
      },
      pipeline: { updated: 200, rows: 5, first: "v0,v1,v2,v3,v4" },
      copy: expect.objectContaining({ in: 1000, out_rows: FIXTURE_ROWS }),
      cursor: { count: FIXTURE_ROWS, sum: (FIXTURE_ROWS * (FIXTURE_ROWS + 1)) / 2 },
      large_object: { equal: true, size: 16384 },
      cancel: { state: "57014", within_5s: true, usable_after: 1 },
      notify: ["drv_channel", "payload é", true],
      tls: 1,
      startup: { show: ["1234ms", "2s", "5min", "drv probe"], enforced: "57014" },
      errors: [
        ["42601", 1],
        ["22012", 0],
        ["23505", 0],
        ["42P01", 15],
        ["22P02", 8],
      ],
      pid: true,
      is_valid: [true, true],
      hikari: { values: [1, 1, 1, 1, 1, 1], distinct_backends_at_most_2: true, total: true },
    },
  },
  { describe, test, expect, beforeAll, afterAll },
);
