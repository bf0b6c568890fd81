// The catalog connection's questions for statement resolution: the generic plan of a statement (planned,
// never executed), the columns of relations and indexes a plan scans, and the volatility of functions.
// Everything runs in a READ ONLY transaction with a statement timeout, so even a mistake here cannot
// write or hold the connection.
import type postgres from "postgres";
import type { PlanNode } from "./plan-uses.ts";

let counter = 0;

/**
 * The plan PostgreSQL would use for any literals: the statement is PREPAREd with its literals as
 * parameters and EXPLAINed (no ANALYZE: nothing executes) under `plan_cache_mode = force_generic_plan`.
 */
export async function genericPlan(
  sql: postgres.Sql,
  query: string,
  params: number,
  /** Declared types by parameter number; the others are inferred (`unknown`). */
  types: ReadonlyMap<number, string> = new Map(),
): Promise<PlanNode> {
  const name = `custos_resolve_${process.pid}_${++counter}`;
  const declared =
    types.size > 0
      ? `(${Array.from({ length: params }, (_, i) => types.get(i + 1) ?? "unknown").join(", ")})`
      : "";
  const nulls = params > 0 ? `(${Array.from({ length: params }, () => "null").join(", ")})` : "";
  try {
    return await sql.begin("read only", async (tx) => {
      await tx
        .unsafe("set local statement_timeout = '5s'; set local plan_cache_mode = force_generic_plan")
        .simple();
      // The statement's text goes through the extended protocol: one Parse holds one statement, so a text
      // this gateway split differently from the server could never run a second statement here.
      await tx.unsafe(`prepare ${name}${declared} as ${query}`, [], EXTENDED);
      const rows = (await tx.unsafe(
        `explain (verbose, costs off, format json) execute ${name}${nulls}`,
        [],
        EXTENDED,
      )) as unknown as { "QUERY PLAN": unknown }[];
      const plan = parsePlan(rows[0]?.["QUERY PLAN"]);
      await tx.unsafe(`deallocate ${name}`).simple();
      return plan;
    });
  } catch (err) {
    // PREPARE is not transactional: a statement prepared before a failure outlives the rollback.
    await sql
      .unsafe(`deallocate ${name}`)
      .simple()
      .catch(() => {});
    throw err;
  }
}

/** postgres.js sends a query without parameters as a simple Query unless told otherwise. */
const EXTENDED = { simple: false } as unknown as postgres.UnsafeQueryOptions;

function parsePlan(raw: unknown): PlanNode {
  const doc = typeof raw === "string" ? JSON.parse(raw) : raw;
  const plan = Array.isArray(doc) ? (doc[0] as { Plan?: PlanNode } | undefined)?.Plan : undefined;
  if (!plan || typeof plan !== "object") throw new Error("EXPLAIN returned no plan");
  return plan;
}

/**
 * Columns of the relations a plan scans, and the columns each scanned index reads (its key columns, or
 * every column of the table for expression and partial indexes), in one round trip.
 */
export async function relationsAndIndexes(
  sql: postgres.Sql,
  relations: readonly { schema: string; table: string }[],
  indexes: readonly { schema: string; index: string }[],
): Promise<{ columns: Map<string, string[]>; indexes: Map<string, string[]> }> {
  const columns = new Map<string, string[]>();
  const indexed = new Map<string, string[]>();
  if (relations.length + indexes.length === 0) return { columns, indexes: indexed };
  const rows = await sql<{ kind: string; nspname: string; relname: string; cols: string[] }[]>`
    select 'r' as kind, n.nspname::text, c.relname::text, array_agg(a.attname::text order by a.attnum) as cols
    from unnest(${relations.map((r) => r.schema)}::text[], ${relations.map((r) => r.table)}::text[]) as k(s, t)
    join pg_namespace n on n.nspname = k.s
    join pg_class c on c.relnamespace = n.oid and c.relname = k.t
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    group by n.nspname, c.relname
    union all
    select 'i', n.nspname::text, i.relname::text,
      array(select a.attname::text from pg_attribute a
            where a.attrelid = x.indrelid and a.attnum > 0 and not a.attisdropped
              and (x.indexprs is not null or x.indpred is not null or a.attnum = any(x.indkey::int2[])))
    from unnest(${indexes.map((r) => r.schema)}::text[], ${indexes.map((r) => r.index)}::text[]) as k(s, t)
    join pg_namespace n on n.nspname = k.s
    join pg_class i on i.relnamespace = n.oid and i.relname = k.t
    join pg_index x on x.indexrelid = i.oid`;
  for (const r of rows) (r.kind === "r" ? columns : indexed).set(`${r.nspname}.${r.relname}`, r.cols);
  return { columns, indexes: indexed };
}

export type Volatility = "immutable" | "stable" | "volatile" | "unknown";

const RANK: Record<string, number> = { i: 1, s: 2, v: 3 };
const NAMES: Record<number, Volatility> = { 1: "immutable", 2: "stable", 3: "volatile" };

/**
 * Volatility of functions as written (`lower`, `pg_catalog.setval`): the most volatile overload in any
 * schema (a bare name may resolve to any schema on the search path), `unknown` when none exists.
 */
export async function functionVolatility(
  sql: postgres.Sql,
  names: readonly string[],
): Promise<Map<string, Volatility>> {
  const out = new Map<string, Volatility>();
  if (names.length === 0) return out;
  const split = names.map((n) => {
    const parts = n.split(".");
    return { name: n, proname: parts[parts.length - 1]!, schema: parts.length > 1 ? parts[0]! : null };
  });
  const rows = await sql<{ proname: string; nspname: string; provolatile: string }[]>`
    select p.proname::text, n.nspname::text, p.provolatile::text
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where p.proname = any(${[...new Set(split.map((s) => s.proname))]}::text[])`;
  for (const s of split) {
    let rank = 0;
    for (const r of rows) {
      if (r.proname !== s.proname || (s.schema !== null && r.nspname !== s.schema)) continue;
      rank = Math.max(rank, RANK[r.provolatile] ?? 3);
    }
    out.set(s.name, NAMES[rank] ?? "unknown");
  }
  return out;
}
