import { expect, test } from "bun:test";
import type { AuditStore, SessionRow, StoredEvent } from "../../audit/store.ts";
import { flagsOf, sessionFactsReader } from "./session-facts.ts";

const ev = (type: string, data: Record<string, unknown>, seq: number): StoredEvent => ({
  type,
  time: seq,
  sessionId: "s",
  logId: "l",
  seq,
  data,
});

const result = (rowsMasked: number, values: number) => ({
  rows: 2,
  rowsMasked,
  columns: [{ index: 0, column: "ssn", source: null, rule: "ssn", method: "partial", values }],
  detectors: [],
  detectorColumns: [],
  cells: [],
});

function facts(events: StoredEvent[]) {
  const store = { sessionEvents: async () => events } as unknown as AuditStore;
  return sessionFactsReader(store)({ id: "s", statements: 1, endedAt: 1 } as SessionRow);
}

test("the masking flag: a masking event with a masked value flags the session; one that masked nothing does not", async () => {
  const stmt = ev("statement", { action: "allow", text: "select ssn from c" }, 2);
  const none = await facts([ev("masking", { text: "select ssn from c", results: [result(0, 0)] }, 1), stmt]);
  expect(flagsOf(none)).toEqual([]);
  const some = await facts([ev("masking", { text: "select ssn from c", results: [result(1, 1)] }, 1), stmt]);
  expect(some.masking).toBe(1);
  expect(flagsOf(some)).toEqual(["masking"]);
  const denied = await facts([ev("statement", { action: "deny", text: "drop table c" }, 1)]);
  expect(flagsOf(denied)).toEqual(["denials"]);
});
