// Where a statement's column references end up, for masking: plainly in the output (a column mask
// follows them through RowDescription's table OID), inside an expression (the output column no longer
// names its source), or in a filter (WHERE, JOIN, ORDER BY: an oracle on the value). The walker in
// walk.ts tracks the context; this file holds the bookkeeping it reports.

export type Json = Record<string, unknown>;

/** How a column reference reaches the client: as itself, computed into another value, or as a filter. */
export const PLAIN = 0;
export const COMPUTED = 1;
export const FILTER = 2;
export type Mode = typeof PLAIN | typeof COMPUTED | typeof FILTER;

/** SELECT fields whose column references filter, group or order rows rather than output them. */
export const FILTER_FIELDS = [
  "whereClause",
  "havingClause",
  "groupClause",
  "sortClause",
  "distinctClause",
  "windowClause",
  "limitCount",
  "limitOffset",
] as const;

export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** The last part of a dotted reference, lower-cased: what mask rules compare against. */
export function leaf(name: string): string {
  const dot = name.lastIndexOf(".");
  return (dot === -1 ? name : name.slice(dot + 1)).toLowerCase();
}

export function isStar(name: string): boolean {
  return name === "*" || name.endsWith(".*");
}

export class Lineage {
  readonly computed = new Set<string>();
  readonly filters = new Set<string>();
  /** `x.*` inside an expression: a whole row as one value. */
  readonly rows = new Set<string>();
  /** Single-name references: whole rows when the name is a relation or alias of the statement. */
  readonly candidates = new Set<string>();
  readonly relations = new Set<string>();
  /** Output name → the columns it stands for (leaf names, `*` for unknown ones). */
  private readonly renames = new Map<string, Set<string>>();

  /** A column reference met in `mode` (never PLAIN here: plain output columns are not reported). */
  reference(name: string, mode: Mode): void {
    (mode === FILTER ? this.filters : this.computed).add(name);
    if (!name.includes(".")) this.candidates.add(name);
  }

  rename(name: string, from: string): void {
    const to = name.toLowerCase();
    const source = from === "*" ? "*" : leaf(from);
    if (to === source) return;
    let set = this.renames.get(to);
    if (!set) {
      set = new Set();
      this.renames.set(to, set);
    }
    set.add(source);
  }

  /** A relation or alias of the statement; `colnames` rename its columns by position. */
  relation(alias: unknown, fallback: string | undefined, outputs: readonly (string | null)[] | null): void {
    const a = isObject(alias) && isObject(alias.Alias) ? alias.Alias : alias;
    const name = (isObject(a) ? str(a.aliasname) : undefined) ?? fallback;
    if (name) this.relations.add(name);
    if (isObject(a)) this.positional(a.colnames, outputs);
  }

  /**
   * The alias of rows computed from arguments (a built-in set-returning function): a name for its output,
   * which is no relation's whole row, and whose columns stand for no source column (the arguments were
   * walked as computed values).
   */
  derived(alias: unknown): void {
    const a = isObject(alias) && isObject(alias.Alias) ? alias.Alias : alias;
    if (isObject(a)) this.positional(a.colnames, []);
  }

  /**
   * `s(a, b)` / `with x(a, b)`: each new name stands for the output at its position. Outputs unknown
   * (a table's columns, a `*`) make every new name stand for `*`, which the policy treats as masked.
   */
  positional(colnames: unknown, outputs: readonly (string | null)[] | null): void {
    if (!Array.isArray(colnames)) return;
    const known = outputs !== null && !outputs.includes("*");
    colnames.forEach((c, i) => {
      const name = isObject(c) && isObject(c.String) ? str(c.String.sval) : undefined;
      if (!name) return;
      if (!known) this.rename(name, "*");
      else {
        const from = outputs[i];
        if (from) this.rename(name, from);
      }
    });
  }

  rowReferences(): string[] {
    const out = new Set(this.rows);
    for (const c of this.candidates) if (this.relations.has(c)) out.add(c);
    return [...out];
  }

  /** Every (name, column) pair, followed transitively: `ssn as a` then `a as b` gives b ← ssn too. */
  renamedColumns(): { name: string; from: string }[] {
    const out: { name: string; from: string }[] = [];
    for (const name of this.renames.keys()) {
      const seen = new Set<string>();
      const stack = [name];
      while (stack.length) {
        for (const src of this.renames.get(stack.pop()!) ?? []) {
          if (src === name || seen.has(src)) continue;
          seen.add(src);
          stack.push(src);
        }
      }
      for (const from of seen) out.push({ name, from });
    }
    return out;
  }
}

/**
 * The output columns of a query as far as they are plain references, by position: a name, `*` for a star,
 * null for an expression. Null when the positions are unknown (a set operation, VALUES).
 */
export function plainOutputs(query: unknown): (string | null)[] | null {
  const sel = isObject(query) && isObject(query.SelectStmt) ? query.SelectStmt : query;
  if (!isObject(sel) || (sel.op !== undefined && sel.op !== "SETOP_NONE")) return null;
  if (!Array.isArray(sel.targetList)) return null;
  return sel.targetList.map((t) => {
    const rt = isObject(t) && isObject(t.ResTarget) ? t.ResTarget : t;
    const val = isObject(rt) ? rt.val : undefined;
    if (!isObject(val) || !isObject(val.ColumnRef)) return null;
    const fields = val.ColumnRef.fields;
    if (!Array.isArray(fields)) return null;
    const last = fields[fields.length - 1];
    if (isObject(last) && "A_Star" in last) return "*";
    return isObject(last) && isObject(last.String) ? (str(last.String.sval) ?? null) : null;
  });
}
