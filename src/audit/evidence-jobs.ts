// The gateway's background evidence jobs: the periodic retention prune (prune.ts) and the store's capacity
// watch (F11: "capacity alerts"), with the metrics and /healthz warnings they and the anchors produce.
// Nothing here is on the statement path: the jobs run on timers and only read counters when scraped.
import type { AuditEvent } from "../core/audit-event.ts";
import type { AnchorPublisher } from "./anchor.ts";
import { hasRetention, pruneLog, type RetentionPolicy } from "./prune.ts";
import type { AuditStore } from "./store.ts";

/** Past this share of audit.max_size, /healthz warns. */
export const CAPACITY_WARN_RATIO = 0.9;
const CAPACITY_EVERY_MS = 60_000;

export interface EvidenceJobsOptions {
  store: AuditStore;
  logId: string;
  policy: RetentionPolicy;
  pruneIntervalMs: number;
  maxSizeBytes: number | null;
  anchors: AnchorPublisher;
  /** Appends to this gateway's log and resolves once committed. */
  record(e: AuditEvent): Promise<void>;
  onError(what: string, err: unknown): void;
}

export class EvidenceJobs {
  private timers: ReturnType<typeof setInterval>[] = [];
  private pruning: Promise<void> | null = null;
  sizeBytes: number | null = null;
  pruned = { events: 0, recordings: 0, runs: 0, failures: 0 };
  lastPruneAt: number | null = null;

  constructor(private readonly o: EvidenceJobsOptions) {}

  start(): void {
    if (hasRetention(this.o.policy)) {
      this.timers.push(setInterval(() => void this.prune(), this.o.pruneIntervalMs));
      // A first pass soon after start, not a whole interval later.
      this.timers.push(setTimeout(() => void this.prune(), Math.min(this.o.pruneIntervalMs, 30_000)));
    }
    void this.measure();
    this.timers.push(setInterval(() => void this.measure(), CAPACITY_EVERY_MS));
  }

  prune(): Promise<void> {
    this.pruning ??= (async () => {
      try {
        const r = await pruneLog(this.o.store, this.o.logId, this.o.policy, this.o.record);
        this.pruned.events += r.events;
        this.pruned.recordings += r.recordings;
        this.pruned.runs++;
        this.lastPruneAt = Date.now();
      } catch (err) {
        this.pruned.failures++;
        this.o.onError("audit prune failed", err);
      } finally {
        this.pruning = null;
      }
    })();
    return this.pruning;
  }

  async measure(): Promise<void> {
    try {
      this.sizeBytes = await this.o.store.sizeBytes();
    } catch (err) {
      this.o.onError("audit store size unavailable", err);
    }
  }

  warnings(): string[] {
    const out = [...this.o.anchors.problems()];
    const max = this.o.maxSizeBytes;
    if (max !== null && this.sizeBytes !== null && this.sizeBytes >= max * CAPACITY_WARN_RATIO) {
      out.push(
        `audit store at ${Math.round((this.sizeBytes / max) * 100)}% of audit.max_size (${this.sizeBytes} of ${max} bytes): add space or shorten audit.retention`,
      );
    }
    return out;
  }

  metrics(): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    const anchors = this.o.anchors.statuses();
    const label = (n: string) => `{anchor="${n.replace(/["\\\n]/g, "_")}"}`;
    metric(
      "custos_audit_anchor_published_total",
      "counter",
      "Checkpoints an anchor accepted.",
      anchors.map((a) => [label(a.name), a.published]),
    );
    metric(
      "custos_audit_anchor_failures_total",
      "counter",
      "Failed attempts to publish a checkpoint to an anchor.",
      anchors.map((a) => [label(a.name), a.failures]),
    );
    metric(
      "custos_audit_anchor_pending",
      "gauge",
      "Checkpoints waiting to reach an anchor.",
      anchors.map((a) => [label(a.name), a.pending]),
    );
    if (this.sizeBytes !== null) {
      metric("custos_audit_store_bytes", "gauge", "Bytes the audit store takes.", [["", this.sizeBytes]]);
    }
    if (this.o.maxSizeBytes !== null) {
      metric("custos_audit_store_max_bytes", "gauge", "audit.max_size.", [["", this.o.maxSizeBytes]]);
    }
    metric("custos_audit_pruned_total", "counter", "Event bodies and recordings removed by retention.", [
      ['{class="events"}', this.pruned.events],
      ['{class="recordings"}', this.pruned.recordings],
    ]);
    metric("custos_audit_prune_failures_total", "counter", "Prune runs that failed.", [
      ["", this.pruned.failures],
    ]);
    return `${lines.join("\n")}\n`;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.pruning;
  }
}
