// Commit latency and throughput counters for /metrics: a Prometheus-style cumulative histogram plus a ring
// of recent samples for p50/p99.

/** Upper bounds in milliseconds; the last bucket is +Inf. */
export const LATENCY_BUCKETS_MS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;
const RING = 1024;

export interface RecorderStats {
  /** Events and frames accepted but not yet committed. */
  queueDepth: number;
  committedEvents: number;
  committedFrames: number;
  commits: number;
  failures: number;
  writable: boolean;
  logSize: number;
  lastCheckpointSize: number | null;
  lastCommitMs: number | null;
  commitLatencyMs: { p50: number | null; p99: number | null };
  /** Cumulative counts per LATENCY_BUCKETS_MS bound (le), then +Inf; with sum and count, as Prometheus wants. */
  commitLatencyHistogram: { le: number[]; counts: number[]; sum: number; count: number };
}

export class LatencyHistogram {
  private counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  private ring = new Float64Array(RING);
  private n = 0;
  private sum = 0;

  add(ms: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > LATENCY_BUCKETS_MS[i]!) i++;
    this.counts[i]!++;
    this.ring[this.n % RING] = ms;
    this.n++;
    this.sum += ms;
  }

  quantile(q: number): number | null {
    const len = Math.min(this.n, RING);
    if (len === 0) return null;
    const sorted = this.ring.slice(0, len).sort();
    return sorted[Math.min(len - 1, Math.floor(q * len))]!;
  }

  snapshot(): RecorderStats["commitLatencyHistogram"] {
    let acc = 0;
    const cumulative = this.counts.map((c) => (acc += c));
    return { le: [...LATENCY_BUCKETS_MS], counts: cumulative, sum: this.sum, count: this.n };
  }
}
