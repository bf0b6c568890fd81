// What one connection knows about where its regulated data is: the column labels configured for it
// (`connections[].column_labels`) and the findings of its classification scan, run at start and on a
// schedule. The statement resolver asks it for each column's labels; a scan that changes the findings
// drops the resolutions and decisions made on the old ones.
import type postgres from "postgres";
import type { MaskingEngine } from "../../masking/engine.ts";
import { DEFAULT_SCAN, type ScanReport, type ScanSettings, scanConnection } from "./classification-scan.ts";
import type { ColumnLabels } from "./statement-resolver.ts";

export interface ClassificationSettings {
  /** `schema.table.column` → labels (`ssn`, `card`, …), as configured. */
  columnLabels: Readonly<Record<string, readonly string[]>>;
  scan: ScanSettings & { enabled: boolean; intervalMs: number };
}

export const DEFAULT_CLASSIFICATION: ClassificationSettings = {
  columnLabels: {},
  scan: { ...DEFAULT_SCAN, enabled: true, intervalMs: 6 * 3_600_000 },
};

export interface ClassificationHooks {
  /** The labels changed: cached resolutions and decisions must go. */
  changed(): void;
  /** An audit event for the connection (`classification.scan`). */
  event(type: string, data: Record<string, unknown>): void;
  log(message: string, data: Record<string, unknown>): void;
}

export interface ClassificationView {
  connection: string;
  configured: { column: string; labels: string[] }[];
  scan: ScanReport | null;
  scanning: boolean;
  nextScanAt: string | null;
}

export class ConnectionClassification implements ColumnLabels {
  private readonly configured = new Map<string, string[]>();
  private found = new Map<string, string[]>();
  private last: ScanReport | null = null;
  private running: Promise<ScanReport> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private nextAt: number | null = null;

  constructor(
    readonly connection: string,
    private readonly sql: postgres.Sql,
    private readonly engine: MaskingEngine | null,
    private readonly settings: ClassificationSettings,
    private readonly hooks: ClassificationHooks,
  ) {
    for (const [column, labels] of Object.entries(settings.columnLabels))
      this.configured.set(column.toLowerCase(), [...labels]);
  }

  labelsOf(column: string): readonly string[] {
    const key = column.toLowerCase();
    const a = this.configured.get(key);
    const b = this.found.get(key);
    if (!a) return b ?? [];
    if (!b) return a;
    return [...new Set([...a, ...b])];
  }

  /** Scans now and then every interval (when the scan is enabled and detectors exist). */
  start(): void {
    if (!this.settings.scan.enabled || !this.engine || this.timer) return;
    this.scanNow().catch(() => {});
    this.nextAt = Date.now() + this.settings.scan.intervalMs;
    this.timer = setInterval(() => {
      this.nextAt = Date.now() + this.settings.scan.intervalMs;
      this.scanNow().catch(() => {});
    }, this.settings.scan.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One scan (a scan already running is joined); resolves with its report. */
  scanNow(): Promise<ScanReport> {
    if (!this.engine) return Promise.reject(new Error("no detectors: masking is not configured"));
    this.running ??= scanConnection(this.sql, this.connection, this.engine, this.settings.scan)
      .then((report) => this.record(report))
      .catch((err) => {
        this.hooks.log("classification scan failed", { connection: this.connection, error: String(err) });
        this.hooks.event("classification.scan_failed", { connection: this.connection, error: String(err) });
        throw err;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  view(): ClassificationView {
    return {
      connection: this.connection,
      configured: [...this.configured].map(([column, labels]) => ({ column, labels })),
      scan: this.last,
      scanning: this.running !== null,
      nextScanAt: this.nextAt === null ? null : new Date(this.nextAt).toISOString(),
    };
  }

  private record(report: ScanReport): ScanReport {
    const found = new Map(report.findings.map((f) => [f.column.toLowerCase(), f.labels]));
    const changed = !sameFindings(this.found, found);
    this.found = found;
    this.last = report;
    // Evidence of where regulated data sits and what the gateway masks because of it (F3, F4): column
    // names, classes and counts; never a value.
    this.hooks.event("classification.scan", {
      connection: this.connection,
      started_at: report.startedAt,
      finished_at: report.finishedAt,
      tables_scanned: report.tablesScanned,
      tables_skipped: report.tablesSkipped,
      sample_rows: report.sampleRows,
      findings: report.findings.map((f) => ({
        column: f.column,
        labels: f.labels,
        hits: f.hits,
        sampled: f.sampled,
      })),
      errors: report.errors.map((e) => e.table),
      changed,
    });
    if (changed) this.hooks.changed();
    return report;
  }
}

function sameFindings(a: Map<string, string[]>, b: Map<string, string[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (!w || w.length !== v.length || w.some((x, i) => x !== v[i])) return false;
  }
  return true;
}
