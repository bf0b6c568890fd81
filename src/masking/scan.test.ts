import { describe, expect, test } from "bun:test";
import { builtinDetectors } from "./detectors/builtin.ts";
import { customDetector } from "./detectors/custom.ts";
import { type ActiveDetector, prefilter, prefilterDigits, prefilterRun, scanValue } from "./scan.ts";

const enc = new TextEncoder();
const all: ActiveDetector[] = builtinDetectors.map((detector, index) => ({
  detector,
  method: "redact",
  index,
}));

function masked(text: string): string {
  const b = enc.encode(text);
  const out: number[] = [];
  const hits = new Uint32Array(all.length);
  const n = scanValue(b, 0, b.length, all, 0, out, hits);
  let s = text;
  for (let k = n * 3 - 3; k >= 0; k -= 3) s = `${s.slice(0, out[k])}#${s.slice(out[k + 1])}`;
  return s;
}

describe("scanValue", () => {
  test("the prefilter never hides a true positive", () => {
    for (const text of [
      "4111 1111 1111 1111",
      "3782 822463 10005",
      "123-45-6789",
      "(212) 555-0123",
      "+1 (212) 555-0123",
      "1 212 555 0123",
      "+44 20 7946 0958",
      "GB82 WEST 1234 5698 7654 32",
      "NO9386011117947",
      "ada@example.com",
    ]) {
      expect(masked(`x ${text} y`)).toBe("x # y");
    }
  });

  test("overlapping hits merge into one span, with the stronger method", () => {
    const detectors: ActiveDetector[] = [
      { ...all[1]!, index: 0 }, // ssn, redact
      { detector: customDetector("mid", "45-67"), method: "null", index: 1 },
    ];
    const b = enc.encode("a 123-45-6789 b");
    const out: number[] = [];
    const hits = new Uint32Array(2);
    expect(scanValue(b, 0, b.length, detectors, 0, out, hits)).toBe(1);
    expect(out).toEqual([2, 13, 1]);
    expect([...hits]).toEqual([1, 1]);
    expect(masked("a 123-45-6789 b ada@example.com c")).toBe("a # b # c");
  });

  test("prefilter counts digits and the longest grouped run", () => {
    const b = enc.encode("ref 12, (212) 555-0123 on 2024-01-15");
    prefilter(b, 0, b.length);
    expect(prefilterDigits).toBe(2 + 10 + 8);
    expect(prefilterRun).toBe(10);
  });

  test("values without long numbers or '@' skip every detector", () => {
    expect(masked("Customer 0001 paid 12.50 on 2024-03-02")).toBe("Customer 0001 paid 12.50 on 2024-03-02");
  });
});
