import { beforeAll, describe, expect, test } from "bun:test";
import { createSqlClassifier, type SqlClassifier } from "./classifier.ts";

let classifier: SqlClassifier;
beforeAll(async () => {
  classifier = await createSqlClassifier();
});

describe("lexing parity in the classifier", () => {
  const refused = [
    "SET client_encoding = 'SJIS'",
    "SET NAMES 'BIG5'",
    "set client_encoding to gbk",
    "SET LOCAL client_encoding = 'SJIS'",
    "SET standard_conforming_strings = off",
    "set standard_conforming_strings to 0",
    "SET backslash_quote = off",
    "select set_config('client_encoding', 'SJIS', false)",
    "select pg_catalog.set_config('Standard_Conforming_Strings'::text, 'off', true)",
    "select set_config(current_setting('x'), 'y', false)",
    "select * from set_config('client_encoding', 'GBK', false)",
    "select 1; SET client_encoding = 'SJIS'",
  ];
  for (const sql of refused) {
    test(`refused: ${sql}`, () => {
      const c = classifier.classify(sql);
      expect(c.error).toBeDefined();
      expect(c.parity).toBeDefined();
    });
  }

  const allowed = [
    "SET client_encoding = 'UTF8'",
    "SET NAMES 'utf-8'",
    "RESET client_encoding",
    "SET client_encoding TO DEFAULT",
    "SHOW client_encoding",
    "SET standard_conforming_strings = on",
    "SET backslash_quote = safe_encoding",
    "RESET ALL",
    "select set_config('search_path', '', false)",
    "select 'SET client_encoding = ''SJIS'''",
  ];
  for (const sql of allowed) {
    test(`allowed: ${sql}`, () => {
      const c = classifier.classify(sql);
      expect(c.error).toBeUndefined();
    });
  }

  test("shape caches never serve one literal's decision to another where literals decide", () => {
    const pairs: [string, string][] = [
      ["SET client_encoding = 'UTF8'", "SET client_encoding = 'SJIS'"],
      [
        "select set_config('application_name', 'x', false)",
        "select set_config('client_encoding', 'SJIS', false)",
      ],
      ["SET standard_conforming_strings = on", "SET standard_conforming_strings = off"],
    ];
    for (const [first, second] of pairs) {
      const a = classifier.classify(first);
      const b = classifier.classify(second);
      expect(a.error).toBeUndefined();
      expect(b.error).toBeDefined();
      // The decider caches by shape: the two must not share one.
      expect(a.shape).not.toBe(b.shape);
      expect(classifier.classify(first).error).toBeUndefined();
    }
    // Ordinary statements keep sharing a shape.
    expect(classifier.classify("select * from t where id = 1").shape).toBe(
      classifier.classify("select * from t where id = 2").shape,
    );
  });
});
