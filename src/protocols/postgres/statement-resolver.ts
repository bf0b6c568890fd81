// Resolves what a statement touches through the upstream catalog, before it runs, for the policy input
// (Command.catalog): each statement is planned on the catalog connection (catalog-queries.ts: literals as
// parameters, generic plan, EXPLAIN without ANALYZE) and its plan read into column uses (plan-uses.ts),
// each with the labels the connection knows for that column (configuration, classification scan).
//
// Cached by statement shape (pg_query normalize: the decision cache's own key), with the exact text and
// the classifier's literal key (src/sql/literal-key.ts: texts with one key share one classification and
// so one decision) in front, so a decided shape is a map lookup and synchronous, new literals included. Entries older than the TTL are served while
// they are refreshed in the background; when a refresh (or a new scan finding) changes an answer, the
// cached decisions are dropped through `onChange`, so no decision outlives the catalog it was made on.
import { normalizeSync } from "libpg-query";
import type postgres from "postgres";
import type { CatalogResolution, ResolvedStatement, SourceColumnUse } from "../../core/command.ts";
import { literalKey } from "../../sql/literal-key.ts";
import { Lru } from "../../sql/lru.ts";
import { functionVolatility, genericPlan, relationsAndIndexes } from "./catalog-queries.ts";
import { snakeName } from "./column-names.ts";
import { parameterize } from "./literal-params.ts";
import { PlanError, planRelations, planUses } from "./plan-uses.ts";
import { statementQueries } from "./statement-query.ts";

export interface ColumnLabels {
  /** Labels of `schema.table.column` (configuration and scan findings); empty when none. */
  labelsOf(column: string): readonly string[];
}

export interface StatementResolverOptions {
  sql: postgres.Sql;
  labels: ColumnLabels;
  /** Called when a cached answer changed: decisions made on the old one must be dropped. */
  onChange?: () => void;
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  resolution: CatalogResolution;
  digest: string;
  at: number;
  refreshing: boolean;
}

export class StatementResolver {
  private readonly byText: Lru<string, Entry>;
  private readonly byShape: Lru<string, Entry>;
  private readonly inFlight = new Map<string, Promise<Entry>>();
  private readonly recent = new Map<string, { key: string; entry: Entry }>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** New shapes resolved and how long they took, for the gateway's metrics and the report. */
  readonly stats = { resolved: 0, totalMs: 0, hits: 0 };

  /** Where column labels come from; set once the connection's classification exists. */
  labels: ColumnLabels;

  constructor(private readonly opts: StatementResolverOptions) {
    this.labels = opts.labels;
    this.byText = new Lru(opts.maxEntries ?? 4096);
    this.byShape = new Lru(opts.maxEntries ?? 4096);
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /** The resolution of `text`: synchronous for a known shape; a promise (one catalog round trip set) otherwise. */
  resolve(text: string): CatalogResolution | Promise<CatalogResolution> {
    // Exact texts seen lately first (one hash lookup); bounded by starting over rather than evicting.
    const recent = this.recent.get(text);
    if (recent && this.byText.get(recent.key) === recent.entry) return this.served(recent.entry, null);
    const literal = literalKey(text);
    const key = literal === null ? `t${text}` : `k${literal}`;
    const hit = this.byText.get(key);
    if (hit) {
      this.remember(text, key, hit);
      return this.served(hit, null);
    }
    let shape: string;
    try {
      shape = normalizeSync(text);
    } catch {
      // The parser refuses it: the decider denies it as unparseable; nothing to resolve.
      return { statements: [] };
    }
    const known = this.byShape.get(shape);
    if (known) {
      this.byText.set(key, known);
      return this.served(known, shape);
    }
    return this.load(shape, text).then((e) => {
      this.byText.set(key, e);
      return e.resolution;
    });
  }

  private remember(text: string, key: string, entry: Entry): void {
    if (this.recent.size >= 1024) this.recent.clear();
    this.recent.set(text, { key, entry });
  }

  /** Drops every cached answer (labels changed): the next statement of each shape is resolved again. */
  invalidate(): void {
    this.recent.clear();
    this.byText.clear();
    this.byShape.clear();
    this.opts.onChange?.();
  }

  private served(e: Entry, shape: string | null): CatalogResolution {
    this.stats.hits++;
    if (!e.refreshing && this.now() - e.at > this.ttlMs) {
      e.refreshing = true;
      const key = shape ?? this.shapeOf(e);
      if (key !== null) {
        this.compute(key, (e.resolution as Resolved).text).then(
          (fresh) => {
            e.at = this.now();
            e.refreshing = false;
            if (fresh.digest !== e.digest) {
              this.byText.clear();
              this.byShape.set(key, fresh);
              this.opts.onChange?.();
            }
          },
          () => {
            e.refreshing = false;
          },
        );
      }
    }
    return e.resolution;
  }

  private shapeOf(e: Entry): string | null {
    try {
      return normalizeSync((e.resolution as Resolved).text);
    } catch {
      return null;
    }
  }

  private load(shape: string, text: string): Promise<Entry> {
    let pending = this.inFlight.get(shape);
    if (!pending) {
      pending = this.compute(shape, text).finally(() => this.inFlight.delete(shape));
      this.inFlight.set(shape, pending);
    }
    return pending.then((e) => {
      this.byShape.set(shape, e);
      return e;
    });
  }

  private async compute(_shape: string, text: string): Promise<Entry> {
    const started = performance.now();
    let statements: ResolvedStatement[];
    try {
      const parsed = statementQueries(text);
      statements = [];
      for (const p of parsed) statements.push(await this.statement(p.query, p.functions));
    } catch (err) {
      statements = [unresolved(`the statement could not be split: ${message(err)}`)];
    }
    this.stats.resolved++;
    this.stats.totalMs += performance.now() - started;
    const resolution: Resolved = { statements, text };
    // The text the entry was made from is kept off the policy input (not enumerable).
    Object.defineProperty(resolution, "text", { enumerable: false });
    deepFreeze(resolution);
    return { resolution, digest: JSON.stringify(statements), at: this.now(), refreshing: false };
  }

  /**
   * The generic plan of a query. Parameters take their types from context; where that fails (a variadic
   * "any" argument, a recursive CTE's `select 1`), the literal's own type is declared: first for the
   * parameter the server names, then for every number, then for every literal. Types change no column a
   * plan reads, only whether it can be made.
   */
  private async plan(text: string): Promise<Awaited<ReturnType<typeof genericPlan>>> {
    const p = parameterize(text);
    const numbers = new Map([...p.literalTypes].filter(([, t]) => t !== "text"));
    const fallbacks = [numbers, p.literalTypes];
    const types = new Map<number, string>();
    let first: unknown = null;
    for (let attempt = 0; attempt <= p.params + fallbacks.length; attempt++) {
      try {
        return await genericPlan(this.opts.sql, p.text, p.params, types);
      } catch (err) {
        first ??= err;
        const n = Number(UNDETERMINED.exec(message(err))?.[1]);
        const type = p.literalTypes.get(n);
        if (type && !types.has(n)) {
          types.set(n, type);
          continue;
        }
        let next = fallbacks.shift();
        while (next && next.size === 0) next = fallbacks.shift();
        if (!next) break;
        for (const [k, v] of next) types.set(k, v);
      }
    }
    throw first;
  }

  private async statement(
    query: ReturnType<typeof statementQueries>[number]["query"],
    functionNames: string[],
  ): Promise<ResolvedStatement> {
    const sql = this.opts.sql;
    const volatility = async (names: string[]) => {
      const vol = await functionVolatility(sql, names);
      return names.map((name) => ({ name, volatility: vol.get(name) ?? "unknown" }) as const);
    };
    if (query.kind !== "query") {
      let functions: ResolvedStatement["functions"];
      try {
        functions = await volatility(functionNames);
      } catch (err) {
        return unresolved(`function volatility could not be read: ${message(err)}`);
      }
      if (query.kind === "not_applicable")
        return { status: "not_applicable", reason: query.reason, uses: [], functions };
      return { ...unresolved(query.reason), functions };
    }
    let plan: Awaited<ReturnType<typeof genericPlan>>;
    try {
      plan = await this.plan(query.text);
    } catch (err) {
      // The server's message names relations and columns, never row values: nothing was executed. The
      // functions are still reported: a refusal names the most precise reason.
      const functions = await volatility(functionNames).catch(() => []);
      return { ...unresolved(`the statement could not be planned: ${message(err)}`), functions };
    }
    let functions: ResolvedStatement["functions"] = [];
    try {
      const rel = planRelations(plan);
      // The functions as written and those the plan scans (a view's), in one catalog round trip; the
      // relations' and indexes' columns in another.
      const names = [...new Set([...functionNames, ...rel.functions])];
      functions = await volatility(names);
      const { columns, indexes } = await relationsAndIndexes(sql, rel.relations, rel.indexes);
      const uses = planUses(plan, {
        columns: (schema, table) => columns.get(`${schema}.${table}`),
        indexColumns: (schema, index) => indexes.get(`${schema}.${index}`),
      });
      return {
        status: "resolved",
        uses: uses.map((u): SourceColumnUse => {
          const column = `${u.schema}.${u.table}.${u.column}`;
          return {
            column,
            name: snakeName(u.column),
            use: u.use,
            where: u.where,
            labels: [...this.labels.labelsOf(column)],
          };
        }),
        functions,
      };
    } catch (err) {
      const why = err instanceof PlanError ? err.message : `catalog lookup failed: ${message(err)}`;
      return { ...unresolved(why), functions };
    }
  }
}

type Resolved = CatalogResolution & { text: string };

/** "could not determine data type of parameter $3" (SQLSTATE 42P18): the literal's own type is declared. */
const UNDETERMINED = /could not determine data type of parameter \$(\d+)/;

function unresolved(reason: string): ResolvedStatement {
  return { status: "unresolved", reason, uses: [], functions: [] };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}
