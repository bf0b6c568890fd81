// node-postgres and postgres.js through the gateway, compared with the same probe run directly.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { nodePostgresProbe } from "./probes/node-postgres.ts";
import { postgresJsProbe } from "./probes/postgres-js.ts";
import { describeDriver, FIXTURE_ROWS } from "./support.ts";

const hooks = { describe, test, expect, beforeAll, afterAll };
const common = {
  connect: ["custos_scram", "ledger"],
  simple: [String(FIXTURE_ROWS), "156562.50", "item 99 é€"],
  copy: expect.objectContaining({ in: [1000, expect.any(String)], out_bytes: expect.any(Number) }),
  cursor: { count: FIXTURE_ROWS, sum: (FIXTURE_ROWS * (FIXTURE_ROWS + 1)) / 2 },
  large_object: { equal: true, size: 16384 },
  startup: { show: ["1234ms", "2s", "5min", "drv probe"], enforced: "57014" },
};
const extendedRow = [42, "é€ 'quote' \\ back", "12345.67", "0001ff", null, [1, 2], { k: "v" }];

describeDriver(
  "node-postgres",
  {
    probe: (t) => nodePostgresProbe(t),
    direct: {
      ...common,
      extended: { row: extendedRow, named: ["item 7 é€", "item 8 é€"] },
      pipeline: { values: [0, 2, 4, 6, 8], multi: [[{ a: 1 }], [{ b: 2 }]] },
      cancel: { state: "57014", within_5s: true, usable_after: 1 },
      notify: ["drv_channel", "payload é", true],
      tls: { value: 1, encrypted: true },
      errors: [
        ["42601", "1"],
        ["22012", null],
        ["23505", null],
        ["42P01", "15"],
        ["22P02", "8"],
        ["42601", "1"],
      ],
      pid: true,
      empty_query: [0, 1],
      connect_end: "ok",
      connect_end_at_once: { stdout: ["ended"], crashed: false },
      large_bind: [70 * 1024 * 1024, true],
    },
    pendingOn: {
      pid: "issue 14 item 3 (real backend PID), branch pg-wire",
      notify: "issue 14 item 3 (NotificationResponse PID = BackendKeyData PID), branch pg-wire",
      startup: "issue 14 item 4 (start-up parameters forwarded), branch pg-wire",
      connect_end_at_once: "issue 14 item 7 (malformed start-up closes silently), branch pg-wire",
      large_bind: "issue 14 item 8 (post-authentication message cap raised to 1 GB), branch pg-wire",
    },
  },
  hooks,
);

describeDriver(
  "postgres.js",
  {
    probe: (t) => postgresJsProbe(t),
    direct: {
      ...common,
      extended: { row: extendedRow, named: ["item 7 é€", "item 8 é€"] },
      pipeline: { values: [0, 2, 4, 6, 8] },
      cancel: { state: "57014", within_5s: true, usable_after: 1 },
      notify: ["drv_channel", "payload é"],
      tls: { value: 1 },
      errors: [
        ["42601", "1"],
        ["22012", null],
        ["23505", null],
        ["42P01", "15"],
        ["22P02", "8"],
      ],
      empty_query: [0, 1],
    },
    pendingOn: {
      startup: "issue 14 item 4 (start-up parameters forwarded), branch pg-wire",
    },
  },
  hooks,
);
