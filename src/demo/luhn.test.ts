import { describe, expect, test } from "bun:test";
import { luhnComplete, luhnValid } from "./luhn.ts";

describe("luhn", () => {
  test("published test PANs pass", () => {
    for (const pan of ["4111111111111111", "5555555555554444", "378282246310005", "30569309025904"]) {
      expect(luhnValid(pan)).toBe(true);
    }
  });

  test("a changed digit fails", () => {
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(luhnValid("4111111111111121")).toBe(false);
  });

  test("non-digits and too-short input are not valid", () => {
    expect(luhnValid("4111 1111 1111 1111")).toBe(false);
    expect(luhnValid("0")).toBe(false);
    expect(luhnValid("")).toBe(false);
  });

  test("luhnComplete appends the check digit", () => {
    expect(luhnComplete("411111111111111")).toBe("4111111111111111");
    expect(luhnComplete("37828224631000")).toBe("378282246310005");
    expect(() => luhnComplete("41x1")).toThrow(RangeError);
  });
});
