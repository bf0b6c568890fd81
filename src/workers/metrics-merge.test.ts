import { describe, expect, test } from "bun:test";
import { mergeWorkerMetrics } from "./metrics-merge.ts";

const text = (n: number) =>
  [
    "# HELP custos_sessions_total Sessions.",
    "# TYPE custos_sessions_total counter",
    `custos_sessions_total{protocol="postgres"} ${n}`,
    "# HELP custos_latency_seconds Latency.",
    "# TYPE custos_latency_seconds histogram",
    `custos_latency_seconds_bucket{le="0.1"} ${n}`,
    `custos_latency_seconds_sum ${n}`,
    `custos_latency_seconds_count ${n}`,
    `process_open_fds ${n}`,
  ].join("\n");

describe("one /metrics for every worker", () => {
  test("each sample labelled by its worker, each family's samples together, HELP/TYPE once", () => {
    const out = mergeWorkerMetrics([
      { worker: 1, text: text(3) },
      { worker: 2, text: text(5) },
    ]);
    expect(out.split("\n").filter(Boolean)).toEqual([
      "# HELP custos_worker_up Whether the worker answered this scrape (1) or not (0, e.g. restarting).",
      "# TYPE custos_worker_up gauge",
      'custos_worker_up{worker="1"} 1',
      'custos_worker_up{worker="2"} 1',
      "# HELP custos_sessions_total Sessions.",
      "# TYPE custos_sessions_total counter",
      'custos_sessions_total{protocol="postgres",worker="1"} 3',
      'custos_sessions_total{protocol="postgres",worker="2"} 5',
      "# HELP custos_latency_seconds Latency.",
      "# TYPE custos_latency_seconds histogram",
      'custos_latency_seconds_bucket{le="0.1",worker="1"} 3',
      'custos_latency_seconds_sum{worker="1"} 3',
      'custos_latency_seconds_count{worker="1"} 3',
      'custos_latency_seconds_bucket{le="0.1",worker="2"} 5',
      'custos_latency_seconds_sum{worker="2"} 5',
      'custos_latency_seconds_count{worker="2"} 5',
      'process_open_fds{worker="1"} 3',
      'process_open_fds{worker="2"} 5',
    ]);
  });

  test("a worker that does not answer is up 0, and its absence is not an error", () => {
    const out = mergeWorkerMetrics([
      { worker: 1, text: text(1) },
      { worker: 2, text: null },
    ]);
    expect(out).toContain('custos_worker_up{worker="2"} 0');
    expect(out).not.toContain(',worker="2"');
  });
});
