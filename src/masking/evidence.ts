// Per-statement masking evidence for the audit log: which columns and detectors masked how many
// values, and which cells of the first rows were changed (so a replay can mark them). Counts, names and
// positions only, never a value.
import type { MaskPlan, ResultColumn } from "./plan.ts";

/** Rows of a result whose masked cells are listed: as many as a replay shows (api/admin/replay.ts). */
export const MARKED_ROWS = 100;
/** Cells listed per result at most, so a wide masked result keeps its audit event small. */
export const MARKED_CELLS = 2_000;

export interface MaskingEvidence {
  rows: number;
  rowsMasked: number;
  /** Whole-value masks, per result column (`index` is the column's position in the result). */
  columns: {
    index: number;
    column: string;
    source: string | null;
    rule: string;
    method: string;
    values: number;
  }[];
  detectors: { detector: string; method: string; values: number }[];
  /** Detector hits per result column, for the columns where a detector changed a value. */
  detectorColumns: { index: number; column: string; detector: string; method: string; values: number }[];
  /** [row, column] pairs (flat) of the cells changed in the first MARKED_ROWS rows (MARKED_CELLS at most). */
  cells: number[];
}

export class MaskStats {
  rows = 0;
  rowsMasked = 0;
  /** Whole-value masks per result column. */
  readonly columnValues: Uint32Array;
  /** Hits per column and plan detector: one view per column, indexed by MaskPlan.detectors index. */
  readonly columnDetectorHits: Uint32Array[];
  readonly cells: number[] = [];

  constructor(
    private readonly plan: MaskPlan,
    private readonly columns: readonly ResultColumn[],
  ) {
    const n = plan.columns.length;
    const d = plan.detectors.length;
    this.columnValues = new Uint32Array(n);
    // One buffer per result, viewed per column: counting a hit stays an index, never an allocation.
    const hits = new Uint32Array(n * d);
    this.columnDetectorHits = Array.from({ length: n }, (_, i) => hits.subarray(i * d, (i + 1) * d));
  }

  /** Column i of the current row was changed; listed within the first MARKED_ROWS rows and MARKED_CELLS. */
  markCell(i: number): void {
    if (this.rows <= MARKED_ROWS && this.cells.length < 2 * MARKED_CELLS) this.cells.push(this.rows - 1, i);
  }

  summary(): MaskingEvidence {
    const columns: MaskingEvidence["columns"] = [];
    const detectorColumns: MaskingEvidence["detectorColumns"] = [];
    const totals = new Uint32Array(this.plan.detectors.length);
    this.plan.columns.forEach((p, i) => {
      const col = this.columns[i];
      const name = col?.name ?? String(i);
      const hits = this.columnDetectorHits[i]!;
      for (const a of this.plan.detectors) {
        const values = hits[a.index]!;
        if (values === 0) continue;
        totals[a.index]! += values;
        detectorColumns.push({ index: i, column: name, detector: a.detector.name, method: a.method, values });
      }
      if (p.method === null) return;
      const src = col?.source;
      columns.push({
        index: i,
        column: name,
        source: src ? `${src.schema}.${src.table}.${src.column}` : null,
        rule: p.rule ?? "",
        method: p.method,
        values: this.columnValues[i]!,
      });
    });
    const detectors = this.plan.detectors.map((a) => ({
      detector: a.detector.name,
      method: a.method,
      values: totals[a.index]!,
    }));
    return {
      rows: this.rows,
      rowsMasked: this.rowsMasked,
      columns,
      detectors,
      detectorColumns,
      cells: this.cells.slice(),
    };
  }
}
