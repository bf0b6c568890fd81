// Per-statement masking evidence for the audit log: which columns and detectors masked how many
// values. Counts and names only, never a value.
import type { MaskPlan, ResultColumn } from "./plan.ts";

export interface MaskingEvidence {
  rows: number;
  rowsMasked: number;
  columns: { column: string; source: string | null; rule: string; method: string; values: number }[];
  detectors: { detector: string; method: string; values: number }[];
}

export class MaskStats {
  rows = 0;
  rowsMasked = 0;
  /** Whole-value masks per result column. */
  readonly columnValues: Uint32Array;
  /** Hits per plan detector (MaskPlan.detectors index). */
  readonly detectorHits: Uint32Array;

  constructor(
    private readonly plan: MaskPlan,
    private readonly columns: readonly ResultColumn[],
  ) {
    this.columnValues = new Uint32Array(plan.columns.length);
    this.detectorHits = new Uint32Array(plan.detectors.length);
  }

  summary(): MaskingEvidence {
    const columns: MaskingEvidence["columns"] = [];
    this.plan.columns.forEach((p, i) => {
      if (p.method === null) return;
      const col = this.columns[i];
      const src = col?.source;
      columns.push({
        column: col?.name ?? String(i),
        source: src ? `${src.schema}.${src.table}.${src.column}` : null,
        rule: p.rule ?? "",
        method: p.method,
        values: this.columnValues[i]!,
      });
    });
    const detectors = this.plan.detectors.map((a) => ({
      detector: a.detector.name,
      method: a.method,
      values: this.detectorHits[a.index]!,
    }));
    return { rows: this.rows, rowsMasked: this.rowsMasked, columns, detectors };
  }
}
