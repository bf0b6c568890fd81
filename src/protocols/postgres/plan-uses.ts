// From a statement's plan (EXPLAIN (VERBOSE, FORMAT JSON)) to how it uses each base-table column. The
// planner has already expanded views, `*`, positional ORDER BY/GROUP BY and attribute notation
// (`c.row_to_json` is printed `row_to_json(c.*)`), so every reference it prints is named by the range
// table alias of a scan. A column is used:
// - `output` when it is a bare entry of an Output list (it reaches the result as itself, where the
//   RowDescription's source lets result masking find it);
// - `computed` inside any expression of an Output list or a function scan's call;
// - `filter` in every other expression the plan prints (Filter, Join Filter, Hash/Merge Cond, Index Cond,
//   Sort Key, Group Key, …) and for the key columns of an index the plan scans (an index scan orders);
// - `whole_row` when read as a row (`c.*`);
// - `subplan` when output by a scalar subquery or InitPlan (its value feeds an expression);
// - `set_operation` when output under a set operation (Append, SetOp, Recursive Union).
// References through a subquery or CTE scan stand for every column that scan's plan outputs (its column
// names are not in the plan), so the answer over-approximates: a caller refusing on it refuses more, never
// less. Anything the walk cannot attribute is an error: the statement is then unresolved.
import type { SourceUse } from "../../core/command.ts";
import { type ExpressionRef, parseExpression } from "./plan-expressions.ts";

export interface PlanNode {
  [key: string]: unknown;
  Plans?: PlanNode[];
}

export interface PlanCatalog {
  /** Columns of a base relation; undefined when the catalog does not know it. */
  columns(schema: string, table: string): readonly string[] | undefined;
  /** Columns an index's keys read (every column for an expression index); undefined when unknown. */
  indexColumns(schema: string, index: string): readonly string[] | undefined;
}

export interface PlanUse {
  schema: string;
  table: string;
  column: string;
  use: SourceUse;
  where: string;
}

export class PlanError extends Error {}

/** String fields of plan nodes that are names or modes, never expressions. */
const NOT_EXPRESSIONS = new Set([
  "Node Type",
  "Parent Relationship",
  "Subplan Name",
  "Relation Name",
  "Schema",
  "Alias",
  "Index Name",
  "Scan Direction",
  "Strategy",
  "Partial Mode",
  "Join Type",
  "Operation",
  "CTE Name",
  "Function Name",
  "Command",
  "Table Function Name",
  "Custom Plan Provider",
  "Conflict Resolution",
  "Conflict Arbiter Indexes",
  "Tuplestore Name",
  "Sampling Method",
]);

/** Fields whose expressions compute values that leave (set-returning and table functions). */
const COMPUTING_FIELDS = new Set(["Function Call", "Table Function Call"]);

/** Nodes whose outputs are rows of several inputs: the result column has no single source. */
const SET_NODES = new Set(["Append", "Merge Append", "SetOp", "Recursive Union", "HashSetOp"]);

/** Scans of things other than base relations whose outputs carry no column of one (their inputs are expressions). */
const SOURCELESS_SCANS = new Set([
  "Function Scan",
  "Table Function Scan",
  "Values Scan",
  "Named Tuplestore Scan",
  "Result",
]);

type Source = { schema: string; table: string; column: string };

interface Alias {
  base?: { schema: string; table: string };
  /** A subquery, CTE or work table scan: the plan whose outputs it reads. */
  derived?: PlanNode;
  /** Work table scans read their CTE's whole subtree. */
  wholeSubtree?: boolean;
  sourceless?: boolean;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function allNodes(root: PlanNode, out: PlanNode[] = []): PlanNode[] {
  out.push(root);
  for (const c of root.Plans ?? []) allNodes(c, out);
  return out;
}

/** Base relations and indexes a plan scans, to load their columns before `planUses`; functions it scans. */
export function planRelations(root: PlanNode): {
  relations: { schema: string; table: string }[];
  indexes: { schema: string; index: string }[];
  /** `schema.function` of every function scan, views' included (pg_stat_activity reads pg_stat_get_activity). */
  functions: string[];
} {
  const relations = new Map<string, { schema: string; table: string }>();
  const indexes = new Map<string, { schema: string; index: string }>();
  const functions = new Set<string>();
  const walk = (n: PlanNode, schema: string | undefined) => {
    const fn = str(n["Function Name"]);
    if (fn) functions.add(str(n.Schema) ? `${str(n.Schema)}.${fn}` : fn);
    const rel = str(n["Relation Name"]);
    const own = str(n.Schema) ?? schema;
    if (rel && own) relations.set(`${own}.${rel}`, { schema: own, table: rel });
    const index = str(n["Index Name"]);
    if (index && own) indexes.set(`${own}.${index}`, { schema: own, index });
    for (const c of n.Plans ?? []) walk(c, rel ? own : schema);
  };
  walk(root, undefined);
  return { relations: [...relations.values()], indexes: [...indexes.values()], functions: [...functions] };
}

export function planUses(root: PlanNode, catalog: PlanCatalog): PlanUse[] {
  const nodes = allNodes(root);
  const aliases = new Map<string, Alias>();
  const ctes = new Map<string, PlanNode>();
  for (const n of nodes) {
    const sub = str(n["Subplan Name"]);
    if (sub?.startsWith("CTE ")) ctes.set(sub.slice(4), n);
  }
  const define = (name: string, alias: Alias) => {
    const known = aliases.get(name);
    if (known) {
      const same =
        known.base && alias.base
          ? known.base.schema === alias.base.schema && known.base.table === alias.base.table
          : known.derived === alias.derived && !known.base && !alias.base;
      if (!same && !(known.sourceless && alias.sourceless))
        throw new PlanError(`the plan uses the alias ${name} for two relations`);
      return;
    }
    aliases.set(name, alias);
  };
  for (const n of nodes) {
    const type = str(n["Node Type"]) ?? "";
    const alias = str(n.Alias);
    const rel = str(n["Relation Name"]);
    if (rel) {
      const schema = str(n.Schema);
      if (!schema || !alias) throw new PlanError(`a scan of ${rel} without schema or alias`);
      define(alias, { base: { schema, table: rel } });
    } else if (alias === undefined) {
    } else if (type === "Subquery Scan") {
      const child = n.Plans?.find((c) => c["Parent Relationship"] === "Subquery") ?? n.Plans?.[0];
      if (!child) throw new PlanError("a subquery scan without its plan");
      define(alias, { derived: child });
    } else if (type === "CTE Scan" || type === "WorkTable Scan") {
      const cte = ctes.get(str(n["CTE Name"]) ?? "");
      if (!cte) throw new PlanError(`a scan of CTE ${str(n["CTE Name"])} whose plan is not shown`);
      define(alias, { derived: cte, wholeSubtree: type === "WorkTable Scan" });
    } else if (SOURCELESS_SCANS.has(type)) {
      define(alias, { sourceless: true });
    } else {
      throw new PlanError(`a ${type} node this gateway cannot attribute`);
    }
  }

  const onlyAlias = aliases.size === 1 ? [...aliases.keys()][0]! : null;
  const derivedSources = new Map<string, Source[] | "resolving">();

  const sourcesOfAlias = (name: string, column: string): Source[] => {
    const a = aliases.get(name);
    if (!a) throw new PlanError(`the plan refers to ${name}, which it does not scan`);
    if (a.sourceless) return [];
    if (a.base) {
      if (column !== "*") return [{ ...a.base, column }];
      const cols = catalog.columns(a.base.schema, a.base.table);
      if (!cols) throw new PlanError(`the columns of ${a.base.schema}.${a.base.table} are unknown`);
      return cols.map((c) => ({ ...a.base!, column: c }));
    }
    const known = derivedSources.get(name);
    if (known === "resolving") return []; // a recursive CTE reading itself: its outputs are counted once
    if (known) return known;
    derivedSources.set(name, "resolving");
    const found: Source[] = [];
    const collect = (n: PlanNode, deep: boolean) => {
      const out = n.Output;
      if (Array.isArray(out)) for (const e of out) found.push(...sourcesOfExpr(String(e)));
      // A node that prints no Output (Append) passes on its inputs' outputs.
      if (deep || !Array.isArray(out)) for (const c of n.Plans ?? []) collect(c, deep);
    };
    collect(a.derived!, a.wholeSubtree === true);
    derivedSources.set(name, found);
    return found;
  };

  const sourcesOfRef = (ref: ExpressionRef): Source[] => {
    if (ref.qualifier !== undefined) return sourcesOfAlias(ref.qualifier, ref.name);
    // Unqualified: EXPLAIN prints bare names when the plan has a single range table entry.
    if (onlyAlias !== null) {
      const a = aliases.get(onlyAlias)!;
      if (a.base) {
        const cols = catalog.columns(a.base.schema, a.base.table);
        if (!cols) throw new PlanError(`the columns of ${a.base.schema}.${a.base.table} are unknown`);
        return cols.includes(ref.name) ? [{ ...a.base, column: ref.name }] : [];
      }
      return sourcesOfAlias(onlyAlias, ref.name);
    }
    const out: Source[] = [];
    for (const a of aliases.values()) {
      if (!a.base) continue;
      if (catalog.columns(a.base.schema, a.base.table)?.includes(ref.name))
        out.push({ ...a.base, column: ref.name });
    }
    return out;
  };

  function sourcesOfExpr(expr: string): Source[] {
    return parseExpression(expr).refs.flatMap(sourcesOfRef);
  }

  const uses = new Map<string, PlanUse>();
  const add = (sources: Source[], use: SourceUse, where: string) => {
    for (const s of sources) {
      const k = `${s.schema}\u0000${s.table}\u0000${s.column}\u0000${use}`;
      if (!uses.has(k)) uses.set(k, { ...s, use, where });
    }
  };

  interface Ctx {
    subplan: boolean;
    setop: boolean;
    schema: string | undefined;
  }
  const walk = (n: PlanNode, ctx: Ctx) => {
    const type = str(n["Node Type"]) ?? "";
    const schema = str(n.Schema) ?? ctx.schema;
    for (const [key, value] of Object.entries(n)) {
      if (key === "Plans" || NOT_EXPRESSIONS.has(key)) continue;
      const exprs = typeof value === "string" ? [value] : Array.isArray(value) ? value.map(String) : null;
      if (!exprs) continue;
      for (const expr of exprs) {
        const parsed = parseExpression(expr);
        for (const ref of parsed.refs) {
          const sources = sourcesOfRef(ref);
          if (ref.name === "*") add(sources, "whole_row", key);
          else if (key !== "Output") add(sources, COMPUTING_FIELDS.has(key) ? "computed" : "filter", key);
          else if (!parsed.bare) add(sources, "computed", key);
          else add(sources, ctx.subplan ? "subplan" : ctx.setop ? "set_operation" : "output", key);
        }
      }
    }
    const index = str(n["Index Name"]);
    if (index) {
      if (!schema) throw new PlanError(`an index scan of ${index} without schema`);
      const cols = catalog.indexColumns(schema, index);
      if (!cols) throw new PlanError(`the columns of index ${schema}.${index} are unknown`);
      const table = str(n["Relation Name"]) ?? tableOfIndex(n, root);
      if (!table) throw new PlanError(`the table of index ${schema}.${index} is unknown`);
      add(
        cols.map((column) => ({ schema, table, column })),
        "filter",
        "Index Name",
      );
    }
    for (const c of n.Plans ?? []) {
      const rel = str(c["Parent Relationship"]);
      const name = str(c["Subplan Name"]) ?? "";
      walk(c, {
        subplan: ctx.subplan || ((rel === "SubPlan" || rel === "InitPlan") && !name.startsWith("CTE ")),
        setop: ctx.setop || SET_NODES.has(type),
        schema: str(n["Relation Name"]) ? schema : ctx.schema,
      });
    }
  };
  walk(root, { subplan: false, setop: false, schema: undefined });
  return [...uses.values()];
}

/** A Bitmap Index Scan names its index only: the table is the Bitmap Heap Scan above it. */
function tableOfIndex(target: PlanNode, root: PlanNode): string | undefined {
  let found: string | undefined;
  const walk = (n: PlanNode, table: string | undefined) => {
    if (n === target) found = table;
    for (const c of n.Plans ?? []) walk(c, str(n["Relation Name"]) ?? table);
  };
  walk(root, undefined);
  return found;
}
