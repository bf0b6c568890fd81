import { expect, test } from "bun:test";
import { LATENCY_BUCKETS_MS, LatencyHistogram } from "./recorder-stats.ts";

test("histogram is cumulative per bucket with sum and count; quantiles come from recent samples", () => {
  const h = new LatencyHistogram();
  expect(h.quantile(0.5)).toBeNull();
  for (const ms of [0.2, 0.7, 3, 3, 4, 8, 9000]) h.add(ms);
  const snap = h.snapshot();
  expect(snap.le).toEqual([...LATENCY_BUCKETS_MS]);
  expect(snap.counts).toEqual([1, 2, 2, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7]);
  expect(snap.count).toBe(7);
  expect(snap.sum).toBeCloseTo(9018.9);
  expect(h.quantile(0.5)).toBe(3);
  expect(h.quantile(0.99)).toBe(9000);
});
