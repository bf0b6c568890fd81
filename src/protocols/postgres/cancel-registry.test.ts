import { describe, expect, test } from "bun:test";
import { CancelRegistry, ownerOf, workerBits } from "./cancel-registry.ts";

describe("cancel keys name their worker", () => {
  test("bits: none for one process, enough for the count", () => {
    expect([1, 2, 3, 4, 5, 64].map(workerBits)).toEqual([0, 1, 2, 2, 3, 6]);
  });

  test("every key a worker mints names it; the PID stays the backend's", () => {
    for (const count of [2, 3, 8, 64]) {
      for (let index = 0; index < count; index++) {
        const r = new CancelRegistry({ index, count, forward() {} });
        for (let i = 0; i < 50; i++) {
          const key = r.mint(4242, { cancel() {} });
          expect(key.pid).toBe(4242);
          expect(ownerOf(key.secret, count)).toBe(index);
          expect(key.secret).toBe(key.secret | 0); // an int32, as the wire carries it
        }
      }
    }
  });

  test("a key minted elsewhere is forwarded to its owner and cancels nothing here", () => {
    const forwarded: [number, number, number][] = [];
    const cancelled: string[] = [];
    const w0 = new CancelRegistry({ index: 0, count: 2, forward: (o, p, s) => forwarded.push([o, p, s]) });
    const w1 = new CancelRegistry({ index: 1, count: 2, forward() {} });
    const mine = w0.mint(7, { cancel: () => cancelled.push("w0") });
    const theirs = w1.mint(7, { cancel: () => cancelled.push("w1") });
    expect(w0.cancel(theirs.pid, theirs.secret)).toBe(false);
    expect(forwarded).toEqual([[1, 7, theirs.secret]]);
    expect(cancelled).toEqual([]);
    // The owner matches both halves: the forwarded key cancels, a forged one does not.
    expect(w1.cancelHere(theirs.pid, theirs.secret)).toBe(true);
    expect(w1.cancelHere(theirs.pid, (theirs.secret ^ 1) | 0)).toBe(false);
    expect(w1.cancelHere(theirs.pid + 1, theirs.secret)).toBe(false);
    expect(w0.cancel(mine.pid, mine.secret)).toBe(true);
    expect(cancelled).toEqual(["w1", "w0"]);
  });

  test("an index past the last worker is dropped, not forwarded", () => {
    const forwarded: number[] = [];
    const r = new CancelRegistry({ index: 0, count: 3, forward: (o) => forwarded.push(o) });
    // count 3 uses 2 bits: index 3 (top bits 11) names no worker.
    expect(r.cancel(1, 0xc0000001 | 0)).toBe(false);
    expect(forwarded).toEqual([]);
  });

  test("a single process keeps 32 random bits and never forwards", () => {
    const r = new CancelRegistry();
    const tops = new Set<number>();
    for (let i = 0; i < 64; i++) tops.add(r.mint(1, { cancel() {} }).secret >>> 31);
    expect(tops.size).toBe(2);
  });
});
