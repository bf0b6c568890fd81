import { describe, expect, test } from "bun:test";
import { parseSummary, parseTransactionLog, pgbenchCommand, quantile, showCommand } from "./pgbench.ts";

// Captured from pgbench 15 (select-only, 8 clients).
const SUMMARY = `pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: <builtin: select only>
scaling factor: 2
query mode: simple
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 4 s
number of transactions actually processed: 109980
number of failed transactions: 0 (0.000%)
latency average = 0.290 ms
initial connection time = 21.712 ms
tps = 27495.120334 (without initial connection time)
`;

describe("parseSummary", () => {
  test("reads tps, processed and failed transactions", () => {
    expect(parseSummary(SUMMARY)).toEqual({ tps: 27495.120334, transactions: 109980, failed: 0 });
    const failing = SUMMARY.replace("failed transactions: 0 (0.000%)", "failed transactions: 12 (0.011%)");
    expect(parseSummary(failing).failed).toBe(12);
  });

  test("output without a summary (pgbench aborted) is a clear error", () => {
    expect(() => parseSummary("pgbench: error: connection to server failed\n")).toThrow(
      /no tps\/transactions summary/,
    );
    expect(() => parseSummary(SUMMARY.replace(/^tps = .*$/m, ""))).toThrow(/no tps/);
  });
});

describe("parseTransactionLog", () => {
  test("takes the latency column (µs) of each line", () => {
    const log = "0 0 123 0 1700000000 1\n1 0 456 0 1700000000 2\n0 1 789 0 1700000000 3 15\n";
    expect(parseTransactionLog(log)).toEqual([123, 456, 789]);
  });

  test("a truncated or foreign line is a clear error", () => {
    expect(() => parseTransactionLog("0 0 123\n")).toThrow(/unreadable pgbench log line/);
    expect(() => parseTransactionLog("0 0 abc 0 1 2\n")).toThrow(/unreadable pgbench log line/);
  });
});

describe("quantile", () => {
  test("nearest rank over unsorted values", () => {
    const v = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(quantile(v, 0.5)).toBe(5);
    expect(quantile(v, 0.99)).toBe(10);
    expect(quantile(v, 0)).toBe(1);
    expect(quantile([42], 0.99)).toBe(42);
  });

  test("no values is NaN, not zero", () => {
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe("pgbenchCommand", () => {
  test("one thread per client up to two, a per-transaction log, loopback only, no password on the line", () => {
    const ep = {
      name: "custos" as const,
      port: 5999,
      database: "ledger",
      user: "bench",
      password: "tok-SECRET",
    };
    const cmd = pgbenchCommand(
      "/usr/bin/pgbench",
      ep,
      { args: ["-S", "-M", "extended"], clients: 8, seconds: 5 },
      "/x/tx",
    );
    expect(cmd).toEqual(
      "/usr/bin/pgbench -n -S -M extended -c 8 -j 2 -T 5 -l --log-prefix=/x/tx -h 127.0.0.1 -p 5999 -U bench ledger".split(
        " ",
      ),
    );
    expect(showCommand(cmd)).toBe(
      "pgbench -n -S -M extended -c 8 -j 2 -T 5 -l -h 127.0.0.1 -p 5999 -U bench ledger",
    );
    expect(cmd.join(" ")).not.toContain("SECRET");
    expect(pgbenchCommand("pgbench", ep, { args: [], clients: 1, seconds: 1 }, "p")).toContain("1");
  });
});
