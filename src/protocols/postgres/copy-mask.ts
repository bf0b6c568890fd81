// Masks COPY ... TO STDOUT output. The COPY's output columns are learned before the COPY is forwarded
// (the statement's text gives a SELECT with the same columns, described on the catalog connection), so a
// COPY whose columns cannot be learned, or whose format cannot be masked (binary, a custom NULL or quote),
// is refused rather than run. Each CopyData message is one row (copyto.c sends one per row).
import type { MaskRule } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { MaskStats } from "../../masking/evidence.ts";
import type { ResultColumn } from "../../masking/plan.ts";
import { loadSqlParser } from "../../sql/classifier.ts";
import { copyOutputs } from "../../sql/copy-target.ts";
import type { ColumnCatalog } from "./column-catalog.ts";
import { COPY_CSV, COPY_TEXT, type CopyFormat, maskCopyRow, type PgRowMasker, pgCopyMasker } from "./mask.ts";
import { SWALLOW } from "./tracker.ts";

export interface CopyPlan {
  masker: PgRowMasker;
  columns: ResultColumn[];
  format: CopyFormat;
  header: boolean;
}

/** The masking plans of every COPY ... TO STDOUT in `text`, in order; rejects when one cannot be masked. */
export async function copyPlans(
  text: string,
  rules: readonly MaskRule[],
  engine: MaskingEngine,
  catalog: ColumnCatalog | null,
): Promise<CopyPlan[]> {
  await loadSqlParser();
  const plans: CopyPlan[] = [];
  for (const out of copyOutputs(text)) {
    if (out.format === "binary") throw refusal("a binary COPY cannot be masked; use text or CSV format");
    if (out.unsupported.length)
      throw refusal(`a COPY with ${out.unsupported.join(", ")} cannot be masked; drop the option`);
    if (!catalog) throw refusal("the COPY's columns cannot be learned for masking");
    const fields = await catalog.describeQuery(out.query);
    const sources = await catalog.resolve(fields);
    const columns: ResultColumn[] = fields.map((f, i) => ({ name: f.name, source: sources[i] }));
    const plan = engine.plan(rules, columns);
    const base = out.format === "csv" ? COPY_CSV : COPY_TEXT;
    plans.push({
      masker: pgCopyMasker(
        plan,
        fields.map((f) => f.typeOid),
      ),
      columns,
      format: out.delimiter === null ? base : { ...base, delimiter: out.delimiter },
      header: out.header,
    });
  }
  return plans;
}

function refusal(message: string): CustosError {
  return new CustosError("policy.unavailable", message);
}

/** One running COPY's state: its plan (null: withheld), its evidence, and whether the header is still due. */
export class CopyRun {
  readonly stats: MaskStats | null;
  private headerDue: boolean;

  constructor(private readonly plan: CopyPlan | null) {
    this.stats = plan ? new MaskStats(plan.masker.plan, plan.columns) : null;
    this.headerDue = plan?.header ?? false;
  }

  /** 'd' CopyData: the same bytes, the row rewritten, or SWALLOW when the COPY is withheld. */
  maskData(m: Uint8Array): Uint8Array {
    if (!this.plan) return SWALLOW; // no plan (binary at run time, unprepared): nothing unmasked leaves
    if (this.headerDue) {
      this.headerDue = false; // column names only
      return m;
    }
    const row = m.subarray(5);
    const masked = maskCopyRow(row, this.plan.masker, this.plan.format, this.stats ?? undefined);
    if (masked === row) return m;
    const out = new Uint8Array(5 + masked.length);
    out[0] = 0x64;
    new DataView(out.buffer).setInt32(1, 4 + masked.length);
    out.set(masked, 5);
    return out;
  }
}
