// pgx v5 (Go, test/drivers/go) through the gateway, compared with the same probe run directly.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { describeDriver, driverDeps, FIXTURE_ROWS, runProbe, targetEnv } from "./support.ts";

const deps = driverDeps();

describeDriver(
  "pgx",
  {
    probe: (t) => runProbe([deps.PGX_PROBE], targetEnv(t)),
    direct: {
      connect: ["custos_scram", "ledger"],
      simple: [String(FIXTURE_ROWS), "156562.50", "item 99 é€"],
      extended: [
        42,
        "é€ 'quote' \\ back",
        "12345.67",
        "0001ff",
        [1, 2],
        { k: "v" },
        "2026-01-01T03:00:00Z",
        "eccbc87e4b5ce2fe28308fd9f2a7baf3",
      ],
      pipeline: [0, 2, 4, 6, 8],
      copy: expect.objectContaining({ in: 1000, out_bytes: expect.any(Number) }),
      cursor: { count: FIXTURE_ROWS, sum: (FIXTURE_ROWS * (FIXTURE_ROWS + 1)) / 2 },
      // pgx's LargeObjects API: lo_creat/lo_open/lowrite/loread/lo_lseek64 as SQL function calls.
      large_object: { equal: true, size: 16000 },
      cancel: { state: "57014", within_5s: true, usable_after: 1 },
      notify: ["drv_channel", "payload é", true],
      tls: { value: 1, tls: true },
      startup: { show: ["1234ms", "2s", "5min", "drv probe"], enforced: "57014" },
      errors: [
        ["42601", 1],
        ["22012", 0],
        ["23505", 0],
        ["42P01", 15],
        ["22P02", 8],
      ],
      pid: true,
      empty_query: true,
    },
  },
  { describe, test, expect, beforeAll, afterAll },
);
