import { describe, expect, test } from "bun:test";
import { ByteSink } from "./canonical.ts";
import { decodeEvent, encodeEvent, REDACTED, scrubEvent, writeEvent } from "./codec.ts";
import { type StatementEvent, type StatementEventData, writeStatementEvent } from "./statement-event.ts";

const written = (write: (s: ByteSink) => void) => {
  const sink = new ByteSink(16);
  sink.raw(Uint8Array.of(1, 2, 3)); // something before it, so an offset bug shows
  write(sink);
  return Buffer.from(sink.take());
};

const base: StatementEventData = {
  action: "allow",
  approval: undefined,
  bundle: "b".repeat(64),
  duration_us: 183,
  error: undefined,
  input_digest: "d".repeat(64),
  keyword: "select",
  reason: "read-only statement",
  record: "async",
  review: undefined,
  rows: 1,
  rule: "custos.sql.read_only",
  seq: 0,
  statement_name: undefined,
  statements: [{ fingerprint: "f".repeat(16), kind: "select" }],
  tag: "SELECT 1",
  text: "SELECT abalance FROM pgbench_accounts WHERE aid = 4711;",
};

const event = (data: Partial<StatementEventData>): StatementEvent => ({
  type: "statement",
  time: 1764676800123,
  sessionId: "0193a5c2-7d4e-7000-8000-0123456789ab",
  data: { ...base, ...data },
});

describe("writeStatementEvent", () => {
  const cases: [string, Partial<StatementEventData>][] = [
    ["a cached select", {}],
    [
      "every field set (17 keys: map 16)",
      {
        approval: { id: "r1", status: "approved" },
        error: { code: "42P01", message: "relation does not exist" },
        review: { rule: "r", reason: "why" },
        statement_name: "s1",
        tag: null,
      },
    ],
    [
      "most fields absent (a fixmap)",
      {
        bundle: undefined,
        input_digest: undefined,
        keyword: undefined,
        record: undefined,
        statements: undefined,
      },
    ],
    ["non-ASCII, long and empty texts", { text: `SELECT 'ünïcødé ${"x".repeat(3000)}' -- 🚀`, reason: "" }],
    ["numbers of every width", { duration_us: 70000, rows: 4294967296, seq: 65536 }],
    ["a fractional and a negative number", { duration_us: 1.5, rows: -40 }],
    [
      "nested secret-named fields are still scrubbed",
      {
        error: { code: "x", message: "m", password: "hunter2" },
        review: { rule: "r", reason: "y", token: undefined },
      },
    ],
    ["a value only the library encodes (falls back)", { review: { rule: "r", when: new Date(0) } }],
  ];
  for (const [name, data] of cases) {
    test(`${name}: the same bytes as writeEvent`, () => {
      const e = event(data);
      const fast = written((s) => writeStatementEvent(s, e));
      expect(fast).toEqual(written((s) => writeEvent(s, e)));
      expect(fast.subarray(3)).toEqual(Buffer.from(encodeEvent(scrubEvent(e))));
    });
  }

  test("what it writes decodes to the event, secrets replaced", () => {
    const e = event({ error: { code: "x", message: "m", password: "hunter2" } });
    const decoded = decodeEvent(written((s) => writeStatementEvent(s, e)).subarray(3));
    expect(JSON.stringify(decoded)).not.toContain("hunter2");
    expect((decoded.data.error as Record<string, unknown>).password).toBe(REDACTED);
    expect(decoded.data.text).toBe(base.text);
    expect(decoded.data).not.toHaveProperty("approval");
  });

  test("an unencodable value is kept as a note of why, as writeEvent keeps it", () => {
    const e = event({ rows: 10n as unknown as number });
    expect(written((s) => writeStatementEvent(s, e))).toEqual(written((s) => writeEvent(s, e)));
  });
});
