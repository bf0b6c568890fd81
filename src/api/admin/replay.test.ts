import { expect, test } from "bun:test";
import type { StoredEvent } from "../../audit/store.ts";
import type { Frame } from "../../core/frame.ts";
import { buildReplay } from "./replay.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const stmt = (time: number, data: Record<string, unknown>): StoredEvent => ({
  type: "statement",
  time,
  sessionId: "s",
  logId: "l",
  seq: time,
  data,
});
const f = (t: number, dir: Frame["dir"], kind: string, data?: Record<string, unknown>): Frame => ({
  t,
  dir,
  kind,
  data,
});

test("statements claim their exchanges in order: simple query rows, an error, and an extended-protocol bind", () => {
  const frames: Frame[] = [
    f(1, "client", "Query", { text: "select a from t" }),
    f(2, "server", "RowDescription", { fields: [{ name: "a", format: 0 }] }),
    f(3, "server", "DataRow", { values: [enc("x")] }),
    f(4, "server", "DataRow", { values: [null] }),
    f(5, "server", "CommandComplete", { tag: "SELECT 2" }),
    f(6, "server", "ReadyForQuery", { status: "I" }),
    f(7, "client", "Query", { text: "select 1/0" }),
    f(8, "server", "ErrorResponse", { C: "22012", M: "division by zero" }),
    f(9, "server", "ReadyForQuery", { status: "I" }),
    f(10, "client", "Parse", { name: "p1", text: "select $1::bytea" }),
    f(11, "client", "Sync"),
    f(12, "server", "ReadyForQuery", { status: "I" }),
    f(13, "client", "Bind", { statement: "p1", params: [enc("\xff")] }),
    f(14, "client", "Execute", {}),
    f(15, "server", "RowDescription", { fields: [{ name: "bytea", format: 1 }] }),
    f(16, "server", "DataRow", { values: [new Uint8Array([0xde, 0xad])] }),
    f(17, "server", "CommandComplete", { tag: "SELECT 1" }),
    f(18, "server", "ReadyForQuery", { status: "I" }),
  ];
  const events = [
    { type: "session.start", time: 1000, sessionId: "s", logId: "l", seq: 0, data: {} },
    stmt(1010, {
      text: "select a from t",
      action: "allow",
      rule: "r.read",
      tag: "SELECT 2",
      rows: 2,
      duration_us: 1500,
    }),
    stmt(1020, {
      text: "select 1/0",
      action: "allow",
      error: { code: "22012", message: "division by zero" },
    }),
    stmt(1030, { text: "select $1::bytea", action: "allow", tag: "SELECT 1", rows: 1 }),
  ];
  const steps = buildReplay(events, frames, 1000);
  expect(steps.map((s) => s.offsetMs)).toEqual([10, 20, 30]);
  expect(steps[0]).toMatchObject({ rule: "r.read", durationUs: 1500, rowCount: 2, error: null });
  expect(steps[0]!.result).toMatchObject({ columns: ["a"], rows: [["x"], [null]], tags: ["SELECT 2"] });
  expect(steps[1]!.error).toBe("22012: division by zero");
  expect(steps[1]!.result!.errors).toEqual([{ code: "22012", message: "division by zero" }]);
  // Parse + Sync is an exchange of its own; the Bind names the prepared statement, so the rows follow it.
  expect(steps[2]!.result!.rows).toEqual([["\\xdead"]]);
});

test("a denied statement with no recorded exchange keeps its decision and a null result; rows are capped", () => {
  const frames: Frame[] = [
    f(1, "client", "Query", { text: "select n" }),
    ...Array.from({ length: 5 }, (_, i) => f(2 + i, "server", "DataRow", { values: [enc(String(i))] })),
    f(9, "server", "ReadyForQuery", { status: "I" }),
  ];
  const steps = buildReplay(
    [
      stmt(5, { text: "delete from t", action: "deny", rule: "no.writes", reason: "agents only read" }),
      stmt(6, { text: "select n", action: "allow" }),
    ],
    frames,
    0,
    2,
  );
  expect(steps[0]).toMatchObject({
    action: "deny",
    rule: "no.writes",
    reason: "agents only read",
    result: null,
  });
  expect(steps[1]!.result).toMatchObject({ rows: [["0"], ["1"]], more: 3 });
});

test("a statement that was held carries how its review ended, who decided and how long it waited", () => {
  const ev = (type: string, time: number, data: Record<string, unknown>): StoredEvent => ({
    type,
    time,
    sessionId: "s",
    logId: "l",
    seq: time,
    data,
  });
  const events = [
    ev("approval.requested", 2_000, { request_id: "r1" }),
    ev("approval.approved", 61_000, {
      request_id: "r1",
      approvers: [{ subject: "bob", verdict: "approve" }],
    }),
    stmt(61_100, {
      text: "update t set a = 1 where id = 1",
      action: "allow",
      approval: { id: "r1", status: "approved" },
    }),
    stmt(62_000, { text: "select 1", action: "allow" }),
  ];
  events.push(
    stmt(63_000, {
      text: "insert into t values (2)",
      action: "deny",
      rule: "custos.approval_unavailable",
      review: { rule: "custos.regulated_write", reason: "writes need approval" },
    }),
  );
  const [held, plain, unrouted] = buildReplay(events, [], 1000);
  expect(held!.approval).toEqual({ id: "r1", status: "approved", by: ["bob"], waitedS: 59 });
  expect(plain!.approval).toBeNull();
  expect(plain!.unroutedReview).toBeNull();
  expect(unrouted!.unroutedReview).toBe("custos.regulated_write");
});

test("a command's masking event marks the cells it changed: a masked NULL is marked, a real NULL is not", () => {
  const frames: Frame[] = [
    f(1, "client", "Query", { text: "select id, dob, note from c" }),
    f(2, "server", "RowDescription", {
      fields: [
        { name: "id", format: 0 },
        { name: "dob", format: 0 },
        { name: "note", format: 0 },
      ],
    }),
    f(3, "server", "DataRow", { values: [enc("1"), null, enc("mail [REDACTED]")] }),
    f(4, "server", "DataRow", { values: [enc("2"), null, enc("plain")] }),
    f(5, "server", "CommandComplete", { tag: "SELECT 2" }),
    f(6, "server", "ReadyForQuery", { status: "I" }),
  ];
  const masking: StoredEvent = {
    type: "masking",
    time: 1009,
    sessionId: "s",
    logId: "l",
    seq: 1009,
    data: {
      text: "select id, dob, note from c",
      results: [
        {
          rows: 2,
          rowsMasked: 1,
          columns: [
            { index: 1, column: "dob", source: null, rule: "date_of_birth", method: "redact", values: 1 },
          ],
          detectors: [{ detector: "email", method: "redact", values: 1 }],
          detectorColumns: [{ index: 2, column: "note", detector: "email", method: "redact", values: 1 }],
          cells: [0, 1, 0, 2],
        },
      ],
    },
  };
  const steps = buildReplay(
    [masking, stmt(1010, { text: "select id, dob, note from c", action: "allow", rows: 2 })],
    frames,
    1000,
  );
  const r = steps[0]!.result!;
  expect(r.maskedColumns).toEqual([null, "rule date_of_birth: redact", "detector email: redact"]);
  expect(r.masked).toEqual([
    [null, "rule date_of_birth: redact", "detector email: redact"],
    [null, null, null],
  ]);
  // Evidence of another statement's text is not borrowed.
  const other = buildReplay(
    [masking, stmt(1010, { text: "select 1", action: "allow" })],
    [f(1, "client", "Query", { text: "select 1" }), ...frames.slice(1)],
    1000,
  );
  expect(other[0]!.result!.masked.flat().every((m) => m === null)).toBe(true);
});
