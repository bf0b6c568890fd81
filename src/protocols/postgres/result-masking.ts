// Masking of one session's result streams: turns a decision's mask rules and a RowDescription into a
// row masker (resolving each column's source table.column through the upstream catalog, so aliases,
// `t.*` and views are caught), and keeps per-command evidence. A repeated result shape is a map lookup;
// only a new shape waits for the catalog.
import type { MaskRule } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { MaskStats } from "../../masking/evidence.ts";
import type { ResultColumn } from "../../masking/plan.ts";
import type { ColumnCatalog } from "./column-catalog.ts";
import { maskDataRow, type PgRowMasker, parseRowDescription, pgRowMasker, type RowField } from "./mask.ts";

export interface MaskingDeps {
  engine: MaskingEngine;
  /** Resolves column sources upstream; null when the connection has no catalog (names only). */
  catalog: ColumnCatalog | null;
}

/** Masking state of one command (a simple Query or one Execute of a portal). */
export class CommandMask {
  masker: PgRowMasker | null = null;
  stats: MaskStats | null = null;
  private readonly summaries: ReturnType<MaskStats["summary"]>[] = [];

  constructor(readonly rules: readonly MaskRule[]) {}

  use(masker: PgRowMasker, columns: readonly ResultColumn[]): void {
    this.finishResult();
    this.masker = masker;
    this.stats = new MaskStats(masker.plan, columns as ResultColumn[]);
  }

  maskRow(message: Uint8Array): Uint8Array {
    if (!this.masker) return message;
    return maskDataRow(message, this.masker, this.stats ?? undefined);
  }

  private finishResult(): void {
    if (this.stats) this.summaries.push(this.stats.summary());
    this.stats = null;
  }

  /** Evidence for the audit log: columns, detectors and counts; never values. */
  evidence(): ReturnType<MaskStats["summary"]>[] {
    this.finishResult();
    return this.summaries;
  }
}

interface Prepared {
  masker: PgRowMasker;
  columns: ResultColumn[];
}

const MAX_SHAPES = 2048;

export class ResultMasking {
  private readonly shapes = new Map<string, Prepared>();
  private readonly ruleKeys = new WeakMap<readonly MaskRule[], string>();

  constructor(private readonly deps: MaskingDeps) {}

  /** A CommandMask when the decision asks for masking, else null (the unmasked fast path). */
  begin(rules: readonly MaskRule[] | undefined): CommandMask | null {
    return rules && rules.length > 0 ? new CommandMask(rules) : null;
  }

  /**
   * Prepares `mask` for a result described by `rowDescription` (a 'T' message). Returns null when ready,
   * or a promise when the columns' sources must be looked up first. `formats` are Bind's result formats
   * when the description came from a statement rather than a portal.
   */
  describe(mask: CommandMask, rowDescription: Uint8Array, formats?: readonly number[]): Promise<void> | null {
    const key = `${this.ruleKey(mask.rules)}\u0000${formats?.join(",") ?? ""}\u0000${Buffer.from(rowDescription).toString("latin1")}`;
    const hit = this.shapes.get(key);
    if (hit) {
      mask.use(hit.masker, hit.columns);
      return null;
    }
    const fields = parseRowDescription(rowDescription);
    const needsSources = this.deps.catalog !== null && fields.some((f) => f.tableOid !== 0 && f.column > 0);
    if (!needsSources) {
      this.prepare(
        key,
        mask,
        fields,
        fields.map(() => undefined),
        formats,
      );
      return null;
    }
    const catalog = this.deps.catalog!;
    return Promise.all([catalog.resolve(fields), catalog.stringTypes(fields.map((f) => f.typeOid))]).then(
      ([sources, stringOids]) => this.prepare(key, mask, fields, sources, formats, stringOids),
    );
  }

  private prepare(
    key: string,
    mask: CommandMask,
    fields: RowField[],
    sources: (ResultColumn["source"] | undefined)[],
    formats?: readonly number[],
    stringTypeOids?: ReadonlySet<number>,
  ): void {
    const columns: ResultColumn[] = fields.map((f, i) => ({ name: f.name, source: sources[i] }));
    const plan = this.deps.engine.plan(mask.rules, columns);
    const masker = pgRowMasker(plan, fields, { formats, stringTypeOids });
    if (this.shapes.size >= MAX_SHAPES) this.shapes.clear();
    this.shapes.set(key, { masker, columns });
    mask.use(masker, columns);
  }

  private ruleKey(rules: readonly MaskRule[]): string {
    let key = this.ruleKeys.get(rules);
    if (key === undefined) {
      key = JSON.stringify(rules);
      this.ruleKeys.set(rules, key);
    }
    return key;
  }
}

/** Masking failed for a result (unknown detector, catalog unreachable): the result is withheld. */
export function maskingFailure(err: unknown): CustosError {
  if (err instanceof CustosError) return err;
  return new CustosError(
    "policy.unavailable",
    `masking failed: ${err instanceof Error ? err.message : String(err)}`,
  );
}
