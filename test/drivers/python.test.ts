// psycopg 3 (libpq) and asyncpg through the gateway, compared with the same probe run directly against
// PostgreSQL: sync, async, pipeline mode, COPY, server-side cursors, psycopg_pool's health check; asyncpg's
// binary protocol, executemany, copy_records_to_table, cursors, task cancellation.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { describeDriver, driverDeps, FIXTURE_ROWS, runProbe, targetEnv } from "./support.ts";

const deps = driverDeps();
const probes = join(import.meta.dir, "probes");

describeDriver(
  "psycopg",
  {
    probe: (t) =>
      runProbe([deps.PYTHON, join(probes, "psycopg_probe.py")], { ...targetEnv(t), PYTHONPATH: probes }),
    direct: {
      connect: ["custos_scram", "ledger"],
      simple: [String(FIXTURE_ROWS), "156562.50", "item 99 é€"],
      extended: {
        row: [42, "é€ 'quote' \\ back", "12345.67", "0001ff", null, [1, 2], { k: "v" }],
        named: ["item 7 é€", "item 8 é€"],
        binary: ["eccbc87e4b5ce2fe28308fd9f2a7baf3", "2026-01-01T03:00:00+00:00"],
      },
      pipeline: { values: [0, 2, 4, 6, 8], error_in_pipeline: "22012", after: 3 },
      copy: expect.objectContaining({ in: [1001, expect.any(String)], out_bytes: expect.any(Number) }),
      cursor: { count: FIXTURE_ROWS, sum: (FIXTURE_ROWS * (FIXTURE_ROWS + 1)) / 2, scrolled_to: 101 },
      large_object: { equal: true, size: 16384 },
      cancel: { sqlstate: "57014", within_5s: true, usable_after: 1 },
      notify: [["drv_channel", "payload é", true]],
      tls: { ssl_in_use: true, value: 1 },
      startup: { show: ["1234ms", "2s", "5min", "drv probe"], enforced: "57014" },
      errors: [
        ["SyntaxError", "42601", "1"],
        ["DivisionByZero", "22012", null],
        ["UniqueViolation", "23505", null],
        ["UndefinedTable", "42P01", "15"],
        ["InvalidTextRepresentation", "22P02", "8"],
      ],
      pid: true,
      empty_query: [0, 1],
      pool_health: { values: [1, 1, 1, 1], lost: 0, errors: 0 },
      async: ["db:ledger", true, [0, 1, 2]],
      protocol_latest: [3, 1],
      replication: ["systemid", "timeline", "xlogpos", "dbname"],
    },
    // Replication through the gateway is refused by design (the brief's choice for issue 14 item 10).
    gatewayExpected: { replication: { refused: true, names_replication: true } },
  },
  { describe, test, expect, beforeAll, afterAll },
);

describeDriver(
  "asyncpg",
  {
    probe: (t) =>
      runProbe([deps.PYTHON, join(probes, "asyncpg_probe.py")], { ...targetEnv(t), PYTHONPATH: probes }),
    direct: {
      connect: ["custos_scram", "ledger"],
      simple: [String(FIXTURE_ROWS), 3],
      extended: {
        row: [42, "é€ 'quote' \\ back", "12345.67", "0001ff", null, [1, 2]],
        named: ["item 7 é€", "item 8 é€"],
        binary: ["2026-01-01T03:00:00+00:00", "eccbc87e4b5ce2fe28308fd9f2a7baf3"],
      },
      pipeline: [100, "v0,v1,v2,v3,v4"],
      copy: expect.objectContaining({ in: ["COPY 1000", expect.any(String)] }),
      cursor: { count: FIXTURE_ROWS, sum: (FIXTURE_ROWS * (FIXTURE_ROWS + 1)) / 2, forward_to: 101 },
      large_object: { equal: true, size: 16384 },
      cancel: { state: "cancelled", within_5s: true, usable_after: 1 },
      notify: ["drv_channel", "payload é", true],
      tls: { value: 1, encrypted: true },
      startup: { show: ["1234ms", "2s", "5min", "drv probe"], enforced: "57014" },
      errors: [
        ["PostgresSyntaxError", "42601", "1"],
        ["PostgresSyntaxError", "42601", "1"],
        ["DivisionByZeroError", "22012", null],
        ["UniqueViolationError", "23505", null],
        ["UndefinedTableError", "42P01", "15"],
        ["InvalidTextRepresentationError", "22P02", "8"],
      ],
      pid: true,
      empty_query: [[], 1],
    },
  },
  { describe, test, expect, beforeAll, afterAll },
);
