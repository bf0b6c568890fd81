// The decision contract checked in TypeScript: whatever the WASM returns that is not exactly a decision
// denies with custos.invalid_decision (the Rego pack checks rule entries; this checks what reaches us).
import { describe, expect, test } from "bun:test";
import { decisionFromResultSet, INVALID_DECISION } from "./decision-output.ts";

const ok = { action: "allow", reason: "allowed", rule: "custos.allow", mask: [], record: "buffered" };
const wrap = (result: unknown) => [{ result }];

describe("decision output", () => {
  test("a well-formed decision passes, with cache defaulting to true", () => {
    expect(decisionFromResultSet(wrap(ok))).toMatchObject({ action: "allow", cache: true });
    expect(decisionFromResultSet(wrap({ ...ok, cache: false })).cache).toBe(false);
  });

  const malformed: [string, unknown][] = [
    ["a string", "just a string"],
    ["no result", []],
    ["two results", [{ result: ok }, { result: ok }]],
    ["an unknown action", { ...ok, action: "permit" }],
    ["a missing rule", { ...ok, rule: undefined }],
    ["an empty rule", { ...ok, rule: "" }],
    ["a numeric rule", { ...ok, rule: 7 }],
    ["a reason that is not a string", { ...ok, reason: ["x"] }],
    ["an unknown field", { ...ok, severity: "high" }],
    ["a string mask entry", { ...ok, mask: ["ssn"] }],
    ["a mask entry without a method", { ...ok, mask: [{ column: "ssn" }] }],
    ["a mask entry without a target", { ...ok, mask: [{ method: "redact" }] }],
    ["a mask that is not a list", { ...ok, mask: "ssn" }],
    ["a wrong record mode", { ...ok, record: "later" }],
    ["a non-boolean cache", { ...ok, cache: "no" }],
  ];
  for (const [what, value] of malformed) {
    test(`${what} denies`, () => {
      const set = what === "no result" || what === "two results" ? value : wrap(value);
      const d = decisionFromResultSet(set);
      expect(d.action).toBe("deny");
      expect(d.rule).toBe(INVALID_DECISION);
    });
  }
});
