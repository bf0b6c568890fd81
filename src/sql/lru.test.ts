import { expect, test } from "bun:test";
import { Lru } from "./lru.ts";

test("holds at most its capacity, keeps what is used and forgets what is not", () => {
  const lru = new Lru<number, number>(100);
  for (let i = 0; i < 1000; i++) {
    lru.set(i, i);
    // Key 0 is read once per 10 inserts, far more often than once per generation (50 inserts).
    if (i % 10 === 0) expect(lru.get(0)).toBe(0);
    expect(lru.size).toBeLessThanOrEqual(100);
  }
  expect(lru.get(0)).toBe(0);
  expect(lru.get(999)).toBe(999);
  expect(lru.get(1)).toBeUndefined();
  expect(lru.get(500)).toBeUndefined();
});

test("set replaces a value in either generation without growing", () => {
  const lru = new Lru<string, number>(4);
  lru.set("a", 1);
  lru.set("b", 2);
  lru.set("c", 3); // a and b are now the old generation
  lru.set("a", 10);
  expect(lru.get("a")).toBe(10);
  lru.set("c", 30);
  expect(lru.get("c")).toBe(30);
  expect(lru.size).toBeLessThanOrEqual(4);
});

test("a capacity of one holds one entry; clear empties it; bad capacities are refused", () => {
  const one = new Lru<string, number>(1);
  one.set("a", 1);
  one.set("b", 2);
  expect(one.size).toBe(1);
  expect(one.get("b")).toBe(2);
  one.clear();
  expect(one.size).toBe(0);
  expect(() => new Lru(0)).toThrow(RangeError);
});
