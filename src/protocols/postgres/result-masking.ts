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
import { type CopyPlan, CopyRun, copyPlans } from "./copy-mask.ts";
import { maskDataRow, type PgRowMasker, parseRowDescription, pgRowMasker, type RowField } from "./mask.ts";
import { NoticeMasker } from "./notice-mask.ts";
import { type ChunkWriter, maskDataRowInto } from "./row-writer.ts";
import type { StatementResolver } from "./statement-resolver.ts";

export interface MaskingDeps {
  engine: MaskingEngine;
  /** Resolves column sources upstream; null when the connection has no catalog (names only). */
  catalog: ColumnCatalog | null;
  /** Resolves statements through the catalog before they are decided (masked identities); null: not done. */
  resolver?: StatementResolver | null;
}

/** Masking state of one command (a simple Query or one Execute of a portal). */
export class CommandMask {
  masker: PgRowMasker | null = null;
  stats: MaskStats | null = null;
  private readonly summaries: ReturnType<MaskStats["summary"]>[] = [];
  /** Plans of the command's COPY ... TO STDOUT statements, in order; null until prepared (prepareCopy). */
  copies: CopyPlan[] | null = null;
  private copyIndex = 0;
  private copy: CopyRun | null = null;

  constructor(
    readonly rules: readonly MaskRule[],
    /** The command's SQL text: its COPY statements are planned from it. */
    readonly text = "",
    private readonly notices: NoticeMasker | null = null,
  ) {}

  /** 'H' CopyOutResponse: the next COPY of the command starts; binary output or no plan withholds its rows. */
  startCopy(message: Uint8Array): void {
    this.finishResult();
    const plan = this.copies?.[this.copyIndex++] ?? null;
    const binary = message[5] === 1; // Int8 overall format, protocol-message-formats
    this.copy = new CopyRun(binary ? null : plan);
    this.stats = this.copy.stats;
  }

  maskCopyData(message: Uint8Array): Uint8Array {
    if (!this.copy) return this.withheldCopy();
    return this.copy.maskData(message);
  }

  private withheldCopy(): Uint8Array {
    this.copy = new CopyRun(null);
    return this.copy.maskData(new Uint8Array(0));
  }

  /** 'E'/'N': detectors over the text fields; values quoted in a detail are redacted. */
  maskNotice(message: Uint8Array): Uint8Array {
    return this.notices ? this.notices.mask(message) : message;
  }

  use(masker: PgRowMasker, columns: readonly ResultColumn[]): void {
    this.finishResult();
    this.copy = null;
    this.masker = masker;
    this.stats = new MaskStats(masker.plan, columns as ResultColumn[]);
  }

  maskRow(message: Uint8Array): Uint8Array {
    if (!this.masker) return message;
    return maskDataRow(message, this.masker, this.stats ?? undefined);
  }

  /** maskRow, written into the chunk's output buffer (row-writer.ts). */
  maskRowInto(message: Uint8Array, w: ChunkWriter): void {
    if (!this.masker) return w.append(message);
    maskDataRowInto(message, this.masker, w, this.stats ?? undefined);
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
/** A keyword cannot be escaped or split in SQL: text without it has no COPY statement to plan. */
const COPY_WORD = /copy/i;
const COPY_PLAN_TTL_MS = 60_000;

export class ResultMasking {
  private readonly shapes = new Map<string, Prepared>();
  private readonly ruleKeys = new WeakMap<readonly MaskRule[], string>();
  /** COPY plans by rules and text, for a minute: a table altered upstream is seen again soon. */
  private readonly copies = new Map<string, { plans: CopyPlan[]; at: number }>();
  private readonly notices: NoticeMasker;

  constructor(private readonly deps: MaskingDeps) {
    this.notices = new NoticeMasker(deps.engine);
  }

  /** Detectors over an ErrorResponse/NoticeResponse that belongs to no masked command. */
  maskNotice(message: Uint8Array): Uint8Array {
    return this.notices.mask(message);
  }

  /** Detectors over a NotificationResponse's channel and payload (notice-mask.ts). */
  maskNotification(message: Uint8Array): Uint8Array | null {
    return this.notices.maskNotification(message);
  }

  /** A function's `schema.name` by OID through the catalog connection; null without a catalog. */
  functionName(oid: number): Promise<string | null> {
    return this.deps.catalog ? this.deps.catalog.functionName(oid) : Promise.resolve(null);
  }

  /** The connection's statement resolver (statement-resolver.ts), when it has a catalog. */
  get resolver(): StatementResolver | null {
    return this.deps.resolver ?? null;
  }

  /** A CommandMask when the decision asks for masking, else null (the unmasked fast path). */
  begin(rules: readonly MaskRule[] | undefined, text = ""): CommandMask | null {
    return rules && rules.length > 0 ? new CommandMask(rules, text, this.notices) : null;
  }

  /**
   * Plans the COPY ... TO STDOUT statements of a masked command before it is forwarded. Null when the
   * command has none (or they are planned already); a promise that rejects when a COPY cannot be masked,
   * and the caller refuses the command.
   */
  prepareCopy(mask: CommandMask): Promise<void> | null {
    if (mask.copies !== null || !COPY_WORD.test(mask.text)) return null;
    const key = `${this.ruleKey(mask.rules)}\u0000${mask.text}`;
    const hit = this.copies.get(key);
    if (hit && Date.now() - hit.at < COPY_PLAN_TTL_MS) {
      mask.copies = hit.plans;
      return null;
    }
    return copyPlans(mask.text, mask.rules, this.deps.engine, this.deps.catalog).then((plans) => {
      if (this.copies.size >= MAX_SHAPES) this.copies.clear();
      this.copies.set(key, { plans, at: Date.now() });
      mask.copies = plans;
    });
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
        mask.rules,
        mask,
        fields,
        fields.map(() => undefined),
        formats,
      );
      return null;
    }
    const catalog = this.deps.catalog!;
    return Promise.all([catalog.resolve(fields), catalog.stringTypes(fields.map((f) => f.typeOid))]).then(
      // Only cached here: the relay hands the same RowDescription in again once this settles, and that
      // call (a cache hit) starts the result, so its evidence is counted once.
      ([sources, stringOids]) => this.prepare(key, mask.rules, null, fields, sources, formats, stringOids),
    );
  }

  private prepare(
    key: string,
    rules: readonly MaskRule[],
    mask: CommandMask | null,
    fields: RowField[],
    sources: (ResultColumn["source"] | undefined)[],
    formats?: readonly number[],
    stringTypeOids?: ReadonlySet<number>,
  ): void {
    const columns: ResultColumn[] = fields.map((f, i) => ({ name: f.name, source: sources[i] }));
    const plan = this.deps.engine.plan(rules, columns);
    const masker = pgRowMasker(plan, fields, { formats, stringTypeOids });
    if (this.shapes.size >= MAX_SHAPES) this.shapes.clear();
    this.shapes.set(key, { masker, columns });
    mask?.use(masker, columns);
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
