import { describe, expect, test } from "bun:test";
import { boundAgentTimeouts, parseTimeSetting } from "./startup-limits.ts";
import { optionSettings, splitOptions, startupSettings, upstreamSettings } from "./startup-params.ts";

describe("options", () => {
  test("split as pg_split_opts does: whitespace separates, a backslash keeps the next character", () => {
    expect(splitOptions("-c a=1  -c\tb=x\\ y --c-d=e\\\\f")).toEqual([
      "-c",
      "a=1",
      "-c",
      "b=x y",
      "--c-d=e\\f",
    ]);
  });

  test("-c name=value, -cname=value and --name=value; dashes in long names are underscores", () => {
    expect(
      optionSettings("-c statement_timeout=5s -clock_timeout=1s --idle-in-transaction-session-timeout=9"),
    ).toEqual([
      { name: "statement_timeout", value: "5s" },
      { name: "lock_timeout", value: "1s" },
      { name: "idle_in_transaction_session_timeout", value: "9" },
    ]);
  });

  test("any other switch is refused, naming it", () => {
    for (const o of ["-O", "-P", "-d 5", "-B 10", "-c", "-c novalue", "-e"])
      expect(() => optionSettings(o)).toThrow();
  });
});

describe("startupSettings", () => {
  test("the allow-list, options first then the packet's own (a later one wins)", () => {
    const s = startupSettings({
      user: "u",
      database: "d",
      options: "-c TimeZone=UTC",
      TimeZone: "Asia/Tokyo",
      application_name: "a",
      "_pq_.x": "1",
    });
    expect(s).toEqual([
      { name: "timezone", value: "Asia/Tokyo" },
      { name: "application_name", value: "a" },
    ]);
  });

  test("role, session_authorization and unlisted settings are refused, naming them", () => {
    for (const params of [
      { role: "x" },
      { options: "-c role=x" },
      { session_authorization: "x" },
      { work_mem: "1GB" },
    ]) {
      expect(() =>
        startupSettings({
          user: "u",
          ...(params as Record<string, string | undefined> as Record<string, string>),
        }),
      ).toThrow(/role|session_authorization|work_mem/);
    }
  });

  test("parser settings must have the assumed value; replication is refused", () => {
    for (const v of ["SJIS", "BIG5", "GBK", "LATIN1", "SQL_ASCII"])
      expect(() => startupSettings({ user: "u", client_encoding: v })).toThrow("client_encoding");
    for (const v of ["UTF8", "utf-8", "Unicode"])
      expect(startupSettings({ user: "u", client_encoding: v })).toHaveLength(1);
    expect(() => startupSettings({ user: "u", options: "-c standard_conforming_strings=off" })).toThrow();
    expect(() => startupSettings({ user: "u", replication: "database" })).toThrow("replication");
    expect(startupSettings({ user: "u", replication: "false" })).toEqual([]);
  });

  test("upstream always gets client_encoding UTF8 and standard_conforming_strings on", () => {
    expect(upstreamSettings([{ name: "client_encoding", value: "utf-8" }])).toEqual({
      client_encoding: "UTF8",
      standard_conforming_strings: "on",
    });
  });
});

describe("agents' time-outs", () => {
  const limits = { statementTimeoutMs: 60_000, idleInTransactionTimeoutMs: 10_000 };
  test("time settings read as PostgreSQL does (bare numbers are ms)", () => {
    expect(parseTimeSetting("1500")).toBe(1500);
    expect(parseTimeSetting("2s")).toBe(2000);
    expect(parseTimeSetting("1min")).toBe(60_000);
    expect(parseTimeSetting("soon")).toBeNull();
  });
  test("bounds added when absent, smaller values kept, 0 and larger refused", () => {
    expect(boundAgentTimeouts([], limits)).toEqual([
      { name: "statement_timeout", value: "60000ms" },
      { name: "idle_in_transaction_session_timeout", value: "10000ms" },
    ]);
    expect(boundAgentTimeouts([{ name: "statement_timeout", value: "5s" }], limits)).toContainEqual({
      name: "statement_timeout",
      value: "5s",
    });
    for (const value of ["0", "2min", "abc"])
      expect(() => boundAgentTimeouts([{ name: "statement_timeout", value }], limits)).toThrow("at most");
  });
});
