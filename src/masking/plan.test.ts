import { describe, expect, test } from "bun:test";
import type { MaskRule } from "../core/decision.ts";
import { COLUMN_SSN_LIKE } from "./detector.ts";
import { MaskingEngine } from "./engine.ts";
import type { ResultColumn } from "./plan.ts";

const engine = new MaskingEngine({
  hmacKey: "plan-test-key-0123456789",
  detectors: [{ name: "acct", pattern: "ACCT-\\d{6}", method: "hash" }],
});

const src = (schema: string, table: string, column: string) => ({ schema, table, column });
const COLS: ResultColumn[] = [
  { name: "x", source: src("bank", "customers", "ssn") }, // select ssn as x
  { name: "ssn", source: src("public", "people", "nickname") }, // select nickname as ssn
  { name: "SSN" }, // an expression named like the column
  { name: "email", source: src("bank", "customers", "email") },
  { name: "upper" }, // upper(email): no source, name does not match
];

const methods = (rules: MaskRule[], cols = COLS) => engine.plan(rules, cols).columns.map((c) => c.method);

describe("column rules", () => {
  test("unqualified rules match the source column and the output name", () => {
    expect(methods([{ column: "ssn", method: "redact" }])).toEqual([
      "redact",
      "redact",
      "redact",
      null,
      null,
    ]);
  });

  test("table.column and schema.table.column match the source; unknown sources fall back to the name", () => {
    expect(methods([{ column: "customers.ssn", method: "hash" }])).toEqual([
      "hash",
      null,
      "hash",
      null,
      null,
    ]);
    expect(methods([{ column: "bank.customers.email", method: "null" }])).toEqual([
      null,
      null,
      null,
      "null",
      null,
    ]);
    expect(methods([{ column: "public.customers.email", method: "null" }])).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  test("the strongest method wins when rules overlap, and the plan records which rule", () => {
    const plan = engine.plan(
      [
        { column: "ssn", method: "partial" },
        { column: "customers.ssn", method: "null" },
        { column: "ssn", method: "hash" },
      ],
      COLS,
    );
    expect(plan.columns.map((c) => [c.method, c.rule])).toEqual([
      ["null", "customers.ssn"],
      ["hash", "ssn"],
      ["null", "customers.ssn"],
      [null, null],
      [null, null],
    ]);
  });
});

describe("detector rules", () => {
  test("detectors run on every column without a whole-value method; the plan is inactive without rules", () => {
    const plan = engine.plan(
      [
        { column: "email", method: "hash" },
        { detector: "card", method: "redact" },
      ],
      COLS,
    );
    expect(plan.columns.map((c) => c.detectors.map((d) => d.detector.name).join())).toEqual([
      "card",
      "card",
      "card",
      "",
      "card",
    ]);
    expect(plan.active).toBe(true);
    expect(engine.plan([], COLS).active).toBe(false);
  });

  test("a detector rule with a column runs only there", () => {
    const plan = engine.plan([{ column: "upper", detector: "email", method: "redact" }], COLS);
    expect(plan.columns.map((c) => c.detectors.length)).toEqual([0, 0, 0, 0, 1]);
  });

  test("the wildcard enables every detector; custom ones keep their configured method", () => {
    const plan = engine.plan([{ detector: "*", method: "redact" }], COLS);
    expect(plan.detectors.map((a) => `${a.detector.name}:${a.method}`)).toEqual([
      "card:redact",
      "ssn:redact",
      "iban:redact",
      "email:redact",
      "phone:redact",
      "acct:hash",
    ]);
  });

  test("columns named like SSNs let the SSN detector take the bare 9-digit form", () => {
    const plan = engine.plan(
      [{ detector: "ssn", method: "redact" }],
      [
        { name: "tax_id" },
        { name: "v", source: src("a", "b", "social_security_number") },
        { name: "lesson" },
      ],
    );
    expect(plan.columns.map((c) => c.flags & COLUMN_SSN_LIKE)).toEqual([COLUMN_SSN_LIKE, COLUMN_SSN_LIKE, 0]);
  });
});

describe("rules the gateway cannot honour are refused", () => {
  test.each([
    ["unknown detector", { detector: "passport", method: "redact" }, "unknown masking detector"],
    ["unknown method", { column: "ssn", method: "scramble" }, "unknown masking method"],
    ["empty rule", { method: "redact" }, "neither a column nor a detector"],
  ])("%s", (_why, rule, message) => {
    expect(() => engine.plan([rule as MaskRule], COLS)).toThrow(message);
    try {
      engine.plan([rule as MaskRule], COLS);
    } catch (err) {
      expect((err as { code: string }).code).toBe("policy.unavailable");
    }
  });
});

describe("engine config", () => {
  test.each([
    ["short HMAC key", { hmacKey: "short" }, "at least 16 bytes"],
    [
      "custom detector shadowing a built-in",
      { detectors: [{ name: "card", pattern: "x", method: "redact" }] },
      "shadows",
    ],
    [
      "custom detector with an unknown method",
      { detectors: [{ name: "x", pattern: "x", method: "burn" }] },
      "unknown method",
    ],
    [
      "custom detector with a bad pattern",
      { detectors: [{ name: "x", pattern: "[", method: "redact" }] },
      "invalid pattern",
    ],
  ])("rejects a %s", (_why, config, message) => {
    // biome-ignore lint/suspicious/noExplicitAny: deliberately malformed config
    expect(() => new MaskingEngine(config as any)).toThrow(message);
  });
});

describe("spellings", () => {
  test("camelCase, kebab-case and prefixed columns match the canonical rules; look-alikes do not", () => {
    const cols: ResultColumn[] = [
      { name: "socialSecurityNumber" },
      { name: "customer-ssn" },
      { name: "taxId" },
      { name: "lesson" },
      { name: "x", source: src("public", "people", "customerSsn") },
    ];
    expect(methods([{ column: "ssn", method: "redact" }], cols)).toEqual([
      "redact",
      "redact",
      "redact",
      null,
      "redact",
    ]);
    const flags = engine.plan([{ detector: "ssn", method: "redact" }], cols).columns.map((c) => c.flags);
    expect(flags).toEqual([COLUMN_SSN_LIKE, COLUMN_SSN_LIKE, COLUMN_SSN_LIKE, 0, COLUMN_SSN_LIKE]);
  });
});
