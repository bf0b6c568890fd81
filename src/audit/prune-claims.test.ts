import { expect, test } from "bun:test";
import { PruneClaims, rangeCount, toRanges } from "./prune-claims.ts";

test("seqs compress to half-open ranges", () => {
  expect(toRanges([7, 1, 2, 3, 9, 8])).toEqual([
    [1, 4],
    [7, 10],
  ]);
  expect(rangeCount(toRanges([1, 2, 5]))).toBe(3);
  expect(toRanges([])).toEqual([]);
});

test("a pruned seq is accepted only inside a claim of its own log; recordings may be claimed by event ranges", () => {
  const claims = new PruneClaims();
  const prune = (log: string, events: number[][], recordings: number[][] = []) =>
    claims.add({ type: "audit.prune", time: 1, data: { log_id: log, events, recordings } });
  prune(
    "a",
    [
      [0, 10],
      [20, 30],
    ],
    [[40, 41]],
  );
  prune("a", [[10, 12]]);
  prune("b", [[100, 200]]);
  expect(claims.unclaimed("a", [0, 5, 11, 25], [3, 40])).toBeNull();
  expect(claims.unclaimed("a", [12], [])).toEqual({ seq: 12, what: "event" });
  expect(claims.unclaimed("a", [], [41])).toEqual({ seq: 41, what: "the recording of the event" });
  expect(claims.unclaimed("c", [0], [])).toEqual({ seq: 0, what: "event" });
  expect(claims.unclaimed("b", [150], [])).toBeNull();
});
