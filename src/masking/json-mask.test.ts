import { describe, expect, test } from "bun:test";
import { CustosError } from "../core/errors.ts";
import { MaskingEngine } from "./engine.ts";
import { jsonMasker } from "./json-mask.ts";
import { parsePath } from "./json-path.ts";

const engine = new MaskingEngine({ hmacKey: "test-key-0123456789abcdef" });

const body = () => ({
  customers: [
    {
      id: 1,
      name: "Ada",
      ssn: "123-45-6789",
      card: "4111 1111 1111 1111",
      note: "mail ada@example.com today",
    },
    { id: 2, name: "Bob", ssn: "987-65-4321", nested: { email: "bob@example.com" } },
  ],
  total: 2,
});

describe("JSON masking", () => {
  test("a path rule masks exactly the selected members", () => {
    const m = jsonMasker(engine, [{ column: "$.customers[*].ssn", method: "redact" }]);
    const out = m.mask(body()) as ReturnType<typeof body>;
    expect(out.customers.map((c) => c.ssn)).toEqual(["[REDACTED]", "[REDACTED]"]);
    expect(out.customers[0]!.card).toBe("4111 1111 1111 1111");
    expect(m.evidence.rules).toEqual({ "$.customers[*].ssn": 2 });
  });

  test("partial keeps the last four, hash is keyed and stable, null nulls", () => {
    const m = jsonMasker(engine, [
      { column: "$.customers[0].ssn", method: "partial" },
      { column: "$.customers[1].ssn", method: "hash" },
      { column: "$.customers[0].name", method: "null" },
    ]);
    const out = m.mask(body()) as { customers: Record<string, unknown>[] };
    expect(out.customers[0]!.ssn).toBe("***-**-6789");
    expect(out.customers[1]!.ssn).toMatch(/^hmac:[0-9a-f]{16}$/);
    expect(out.customers[0]!.name).toBeNull();
    const again = jsonMasker(engine, [{ column: "$.customers[1].ssn", method: "hash" }]).mask(
      body(),
    ) as typeof out;
    expect(again.customers[1]!.ssn).toBe(out.customers[1]!.ssn);
  });

  test("a name rule masks the member at any depth, including objects and numbers", () => {
    const m = jsonMasker(engine, [
      { column: "email", method: "redact" },
      { column: "nested", method: "redact" },
      { column: "total", method: "partial" },
    ]);
    const out = m.mask(body()) as Record<string, unknown> & { customers: Record<string, unknown>[] };
    expect(out.customers[1]!.nested).toBe("[REDACTED]");
    // One digit: partial keeps at most half, so nothing.
    expect(out.total).toBe("*");
    const m2 = jsonMasker(engine, [{ column: "accounts.email", method: "redact" }]);
    const out2 = m2.mask({ a: [{ b: { email: "x@y.org" } }] }) as { a: { b: { email: string } }[] };
    expect(out2.a[0]!.b.email).toBe("[REDACTED]");
  });

  test("detectors find values in free text, in any member", () => {
    const m = jsonMasker(engine, [{ detector: "*", method: "redact" }]);
    const out = m.mask(body()) as { customers: Record<string, unknown>[] };
    expect(out.customers[0]!.card).toBe("[REDACTED]");
    expect(out.customers[0]!.note).toBe("mail [REDACTED] today");
    expect(out.customers[0]!.ssn).toBe("[REDACTED]");
    expect((out.customers[1]!.nested as { email: string }).email).toBe("[REDACTED]");
    expect(out.customers[0]!.name).toBe("Ada");
    expect(m.evidence.detectors.card).toBe(1);
    expect(JSON.stringify(out)).not.toContain("4111");
  });

  test("a path rule with a detector scans only under the path", () => {
    const m = jsonMasker(engine, [{ column: "$.customers[1]", detector: "email", method: "redact" }]);
    const out = m.mask(body()) as { customers: Record<string, unknown>[] };
    expect((out.customers[1]!.nested as { email: string }).email).toBe("[REDACTED]");
    expect(out.customers[0]!.note).toBe("mail ada@example.com today");
  });

  test("the root itself and a root string", () => {
    expect(jsonMasker(engine, [{ column: "$", method: "redact" }]).mask({ a: 1 })).toBe("[REDACTED]");
    expect(jsonMasker(engine, [{ detector: "ssn", method: "redact" }]).mask("ssn 123-45-6789")).toBe(
      "ssn [REDACTED]",
    );
  });

  test("rules it cannot honour are refused (the request is then denied)", () => {
    const refused = (rules: Parameters<typeof jsonMasker>[1]) => {
      try {
        jsonMasker(engine, rules);
      } catch (err) {
        expect(err).toBeInstanceOf(CustosError);
        return (err as CustosError).code;
      }
      return "accepted";
    };
    expect(refused([{ column: "$.a[?(@.x)]", method: "redact" }])).toBe("policy.unavailable");
    expect(refused([{ column: "$customers", method: "redact" }])).toBe("policy.unavailable");
    expect(refused([{ detector: "dna", method: "redact" }])).toBe("policy.unavailable");
  });

  test("path parser subset", () => {
    expect(parsePath("$..ssn")).toEqual([{ kind: "name", name: "ssn", deep: true }]);
    expect(parsePath("$['a b'][2].*")).toEqual([
      { kind: "name", name: "a b", deep: false },
      { kind: "index", index: 2 },
      { kind: "any", deep: false },
    ]);
    expect(typeof parsePath("customers")).toBe("string");
  });

  test("recursive descent masks every depth", () => {
    const out = jsonMasker(engine, [{ column: "$..ssn", method: "redact" }]).mask(body());
    expect(JSON.stringify(out)).not.toMatch(/\d{3}-\d{2}-\d{4}/);
  });

  test("a JSON document inside a string is masked by name too", () => {
    const out = jsonMasker(engine, [{ column: "date_of_birth", method: "redact" }]).mask({
      payload: JSON.stringify({ dateOfBirth: "1815-12-10", n: 1 }),
      text: "{not json",
    }) as { payload: string; text: string };
    expect(JSON.parse(out.payload)).toEqual({ dateOfBirth: "[REDACTED]", n: 1 });
    expect(out.text).toBe("{not json");
  });
});
