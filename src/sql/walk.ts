// Walks one statement of libpg-query's JSON parse tree and collects what the policy decides on: tables
// read and written, columns, functions, data-modifying operations and anything that runs unseen SQL.
// It never reads literal values, so statements that differ only in literals classify alike (the cache
// in classifier.ts relies on this).

import { baseName, SQL_TEXT_FUNCTIONS } from "./dynamic-functions.ts";
import { kindOf } from "./kinds.ts";
import {
  COMPUTED,
  FILTER,
  FILTER_FIELDS,
  isObject,
  isStar,
  type Json,
  Lineage,
  type Mode,
  PLAIN,
  plainOutputs,
  str,
} from "./lineage.ts";
import { derivedRows } from "./row-functions.ts";
import type { DmlKind, SqlStatement } from "./types.ts";

interface Facts {
  read: Set<string>;
  written: Set<string>;
  columns: Set<string>;
  functions: Set<string>;
  dml: Set<DmlKind>;
  /** An UPDATE or DELETE somewhere in the statement has no row-restricting WHERE. */
  unbounded: boolean;
  dynamic: boolean;
  /** Row-locking clauses met anywhere (`FOR UPDATE` in a subquery locks too). */
  locks: Set<string>;
}

/** CTE names visible at a point of the tree; an unqualified FROM item with such a name is not a table. */
type Scope = ReadonlySet<string>;

const RELATION_DROP_TYPES = new Set([
  "OBJECT_TABLE",
  "OBJECT_VIEW",
  "OBJECT_MATVIEW",
  "OBJECT_FOREIGN_TABLE",
  "OBJECT_SEQUENCE",
  "OBJECT_INDEX",
]);

/** Fields of utility statements that name the relation the statement changes. */
const TARGET_FIELDS = new Set(["relation", "relations", "view", "into", "objects"]);

/** `{String: {sval}}` items of a name list, joined with dots. */
function dotted(items: unknown): string {
  if (!Array.isArray(items)) return "";
  const parts: string[] = [];
  for (const item of items) {
    if (isObject(item) && isObject(item.String)) parts.push(str(item.String.sval) ?? "");
    else if (isObject(item) && "A_Star" in item) parts.push("*");
  }
  return parts.join(".");
}

/** Schema-qualifies a relation name: unqualified means `public` (search_path assumed), `pg_*` means pg_catalog. */
export function qualify(schema: string | undefined, name: string): string {
  if (schema) return `${schema}.${name}`;
  return name.startsWith("pg_") ? `pg_catalog.${name}` : `public.${name}`;
}

function unwrap(v: unknown, node: string): Json | undefined {
  if (!isObject(v)) return undefined;
  const inner = v[node];
  return isObject(inner) ? inner : v;
}

class Walker {
  readonly facts: Facts = {
    read: new Set(),
    written: new Set(),
    columns: new Set(),
    functions: new Set(),
    dml: new Set(),
    unbounded: false,
    dynamic: false,
    locks: new Set(),
  };
  readonly lineage = new Lineage();
  /** How column references met now reach the client (see lineage.ts). */
  private mode: Mode = PLAIN;
  /** The next SELECT is an EXISTS subquery: its target list is never output or compared. */
  private existsTargets = false;

  /** Runs `fn` in `mode` or a stronger one: a filter inside an expression stays a filter. */
  private within(mode: Mode, fn: () => unknown): undefined {
    const saved = this.mode;
    if (mode > saved) this.mode = mode;
    try {
      fn();
    } finally {
      this.mode = saved;
    }
  }

  /** Generic descent: dispatches wrapped nodes (`{SelectStmt: {...}}`) and recognizes bare ones. */
  visit(v: unknown, scope: Scope): undefined {
    if (Array.isArray(v)) {
      for (const item of v) this.visit(item, scope);
      return;
    }
    if (!isObject(v)) return;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const key = keys[0]!;
      const body = v[key];
      if (isObject(body) && key.charCodeAt(0) >= 65 && key.charCodeAt(0) <= 90) {
        this.node(key, body, scope);
        return;
      }
    }
    // Some fields hold bare structs (DeleteStmt.relation, CallStmt.funccall, set-operation arms).
    if ("relname" in v) return this.rangeVar(v, scope, false);
    if ("funcname" in v && "funcformat" in v) return this.node("FuncCall", v, scope);
    if ("op" in v && ("targetList" in v || "larg" in v || "valuesLists" in v || "fromClause" in v)) {
      return this.node("SelectStmt", v, scope);
    }
    for (const key of keys) this.visit(v[key], scope);
  }

  private fields(body: Json, scope: Scope, skip: ReadonlySet<string>): undefined {
    for (const key of Object.keys(body)) if (!skip.has(key)) this.visit(body[key], scope);
  }

  private rangeVar(rv: Json, scope: Scope, write: boolean): undefined {
    const name = str(rv.relname);
    if (!name) return;
    const schema = str(rv.schemaname);
    if (!write) this.lineage.relation(rv.alias, name, null);
    if (!write && !schema && scope.has(name)) return; // a CTE, not a table
    (write ? this.facts.written : this.facts.read).add(qualify(schema, name));
  }

  /**
   * A SELECT's output list. A bare column reference is output as itself (RowDescription names its source)
   * unless this SELECT's outputs lose their origin (set-operation arm, subquery in an expression); anything
   * else computes a new value from the columns inside it.
   */
  private targets(list: unknown, scope: Scope, ignoreStars: boolean): void {
    if (!Array.isArray(list)) return;
    for (const t of list) {
      const rt = unwrap(t, "ResTarget");
      const val = rt?.val;
      if (!rt || !isObject(val) || !isObject(val.ColumnRef)) {
        this.within(COMPUTED, () => this.visit(rt ? rt.val : t, scope));
        continue;
      }
      const name = dotted(val.ColumnRef.fields);
      this.facts.columns.add(name);
      if (isStar(name)) {
        if (this.mode !== PLAIN && !ignoreStars)
          (this.mode === FILTER ? this.lineage.filters : this.lineage.computed).add(name);
        continue;
      }
      if (this.mode !== PLAIN) this.lineage.reference(name, this.mode);
      else if (!name.includes(".")) this.lineage.candidates.add(name);
      const alias = str(rt.name);
      if (alias) this.lineage.rename(alias, name);
    }
  }

  private select(body: Json, scope: Scope): undefined {
    const inner = this.withScope(body.withClause, scope);
    if (body.intoClause) this.target(body.intoClause, inner);
    const ignoreStars = this.existsTargets;
    this.existsTargets = false;
    if (body.op !== undefined && body.op !== "SETOP_NONE") {
      // UNION/INTERSECT/EXCEPT outputs carry no source column: every arm's outputs are computed.
      this.within(COMPUTED, () => {
        this.visit(body.larg, inner);
        this.visit(body.rarg, inner);
      });
    }
    this.targets(body.targetList, inner, ignoreStars);
    this.visit(body.fromClause, inner);
    for (const key of FILTER_FIELDS) this.within(FILTER, () => this.visit(body[key], inner));
    this.within(COMPUTED, () => this.visit(body.valuesLists, inner));
    return this.fields(body, inner, SELECT_HANDLED);
  }

  /** A field naming relations the statement writes: a RangeVar, bare or wrapped, or a list of them. */
  private target(v: unknown, scope: Scope): undefined {
    if (Array.isArray(v)) {
      for (const item of v) this.target(item, scope);
      return;
    }
    const rv = unwrap(v, "RangeVar");
    if (rv && "relname" in rv) this.rangeVar(rv, scope, true);
    else if (isObject(v) && isObject(v.rel))
      this.rangeVar(v.rel, scope, true); // IntoClause
    else this.visit(v, scope);
  }

  /** Opens a WITH clause: each CTE sees the earlier ones (all of them when RECURSIVE); the body sees all. */
  private withScope(withClause: unknown, scope: Scope): Scope {
    if (!isObject(withClause) || !Array.isArray(withClause.ctes)) return scope;
    const recursive = withClause.recursive === true;
    const inner = new Set(scope);
    const ctes = withClause.ctes.map((c) => unwrap(c, "CommonTableExpr") ?? {});
    if (recursive) for (const cte of ctes) if (str(cte.ctename)) inner.add(cte.ctename as string);
    for (const cte of ctes) {
      if (str(cte.ctename)) this.lineage.relations.add(cte.ctename as string);
      this.lineage.positional(cte.aliascolnames, plainOutputs(cte.ctequery));
      this.visit(cte.ctequery, new Set(inner));
      if (!recursive && str(cte.ctename)) inner.add(cte.ctename as string);
    }
    return inner;
  }

  private restricting(where: unknown): boolean {
    let found = false;
    const look = (v: unknown): void => {
      if (found) return;
      if (Array.isArray(v)) {
        for (const item of v) look(item);
        return;
      }
      if (!isObject(v)) return;
      if ("ColumnRef" in v || "CurrentOfExpr" in v || ("fields" in v && "location" in v)) {
        found = true;
        return;
      }
      for (const value of Object.values(v)) look(value);
    };
    look(where);
    return found;
  }

  private assigned(targets: unknown): void {
    if (!Array.isArray(targets)) return;
    for (const t of targets) {
      const rt = unwrap(t, "ResTarget");
      const name = rt && str(rt.name);
      if (name) this.facts.columns.add(name);
    }
  }

  node(name: string, body: Json, scope: Scope): undefined {
    const f = this.facts;
    switch (name) {
      case "RangeVar":
        return this.rangeVar(body, scope, false);
      case "ColumnRef": {
        // Reached outside a SELECT's output list: inside an expression, a filter, or a clause of another
        // statement. Never a plain output.
        const ref = dotted(body.fields);
        f.columns.add(ref);
        const mode = this.mode === PLAIN ? COMPUTED : this.mode;
        if (!isStar(ref)) this.lineage.reference(ref, mode);
        else if (mode === COMPUTED) this.lineage.rows.add(ref === "*" ? "*" : ref.slice(0, -2));
        return;
      }
      case "SubLink":
        if (body.subLinkType === "EXISTS_SUBLINK") this.existsTargets = true;
        this.visit(body.subselect, scope);
        this.existsTargets = false;
        return this.fields(body, scope, SKIP_SUBSELECT);
      case "RangeSubselect":
        this.lineage.relation(body.alias, undefined, plainOutputs(body.subquery));
        return this.visit(body.subquery, scope);
      case "RangeFunction":
        // A built-in set-returning function computes its rows from its arguments (walked below as
        // computed): its alias names that output, not a table's row. Any other function (user-defined,
        // possibly `RETURNS SETOF customers`) is opaque, so its alias counts as a relation's whole row.
        if (derivedRows(body.functions)) this.lineage.derived(body.alias);
        else this.lineage.relation(body.alias, undefined, null);
        return this.within(COMPUTED, () => this.fields(body, scope, SKIP_ALIAS));
      case "LockingClause": {
        const strength = LOCK_STRENGTHS[str(body.strength) ?? ""] ?? "update";
        f.locks.add(strength);
        return this.fields(body, scope, SKIP_NONE);
      }
      case "JoinExpr":
        this.lineage.relation(body.alias, undefined, null);
        this.visit(body.larg, scope);
        this.visit(body.rarg, scope);
        if (Array.isArray(body.usingClause)) {
          for (const u of body.usingClause) {
            const name = isObject(u) && isObject(u.String) ? str(u.String.sval) : undefined;
            if (name) this.lineage.reference(name, FILTER);
          }
        }
        return this.within(FILTER, () => this.visit(body.quals, scope));
      case "FuncCall": {
        const fn = dotted(body.funcname);
        f.functions.add(fn);
        if (SQL_TEXT_FUNCTIONS.has(baseName(fn))) f.dynamic = true;
        return this.fields(body, scope, SKIP_FUNCNAME);
      }
      case "SelectStmt":
        return this.select(body, scope);
      case "InsertStmt":
      case "UpdateStmt":
      case "DeleteStmt":
      case "MergeStmt": {
        const inner = this.withScope(body.withClause, scope);
        const dml = name.slice(0, -4).toLowerCase() as DmlKind;
        f.dml.add(dml);
        this.target(body.relation, inner);
        if (dml === "update" || dml === "delete") {
          if (!this.restricting(body.whereClause)) f.unbounded = true;
        }
        this.assigned(
          name === "InsertStmt" ? body.cols : name === "UpdateStmt" ? body.targetList : undefined,
        );
        return this.fields(body, inner, SKIP_WITH_RELATION);
      }
      case "CopyStmt":
        if (body.is_from === true) this.target(body.relation, scope);
        else if (isObject(body.relation)) this.rangeVar(body.relation, scope, false);
        return this.fields(body, scope, SKIP_RELATION);
      case "DropStmt":
        if (RELATION_DROP_TYPES.has(str(body.removeType) ?? "") && Array.isArray(body.objects)) {
          for (const obj of body.objects) {
            const items = isObject(obj) && isObject(obj.List) ? obj.List.items : undefined;
            if (!Array.isArray(items)) continue;
            const parts = dotted(items).split(".");
            const rel = parts.pop() ?? "";
            if (rel) f.written.add(qualify(parts.pop(), rel));
          }
        }
        return;
      default:
        if (DYNAMIC_NODES.has(name)) f.dynamic = true;
        return this.fields(body, scope, SKIP_NONE);
    }
  }

  /** Top-level utility statements: their relation-naming fields are writes. */
  utility(name: string, body: Json, scope: Scope): undefined {
    if (DYNAMIC_NODES.has(name)) this.facts.dynamic = true;
    if (name === "GrantStmt" && body.objtype !== "OBJECT_TABLE") return this.node(name, body, scope);
    for (const key of Object.keys(body)) {
      if (TARGET_FIELDS.has(key)) this.target(body[key], scope);
      else this.visit(body[key], scope);
    }
  }
}

/** Parser lock strengths (nodes/lockoptions.h) as the SQL spells them. */
const LOCK_STRENGTHS: Record<string, string> = {
  LCS_FORKEYSHARE: "key share",
  LCS_FORSHARE: "share",
  LCS_FORNOKEYUPDATE: "no key update",
  LCS_FORUPDATE: "update",
};

/** A DO body, a prepared statement run by name, or a function body: SQL text we do not see here. */
const DYNAMIC_NODES: ReadonlySet<string> = new Set(["DoStmt", "ExecuteStmt", "CreateFunctionStmt"]);
const SKIP_NONE: ReadonlySet<string> = new Set();
const SKIP_FUNCNAME: ReadonlySet<string> = new Set(["funcname"]);
const SELECT_HANDLED: ReadonlySet<string> = new Set([
  "withClause",
  "intoClause",
  "larg",
  "rarg",
  "targetList",
  "fromClause",
  "valuesLists",
  ...FILTER_FIELDS,
]);
const SKIP_SUBSELECT: ReadonlySet<string> = new Set(["subselect"]);
const SKIP_ALIAS: ReadonlySet<string> = new Set(["alias"]);
const SKIP_WITH_RELATION: ReadonlySet<string> = new Set(["withClause", "relation"]);
const SKIP_RELATION: ReadonlySet<string> = new Set(["relation"]);

/** Statements that wrap another: classified as what they run (EXPLAIN ANALYZE executes its query). */
const WRAPPERS: Record<string, string> = {
  ExplainStmt: "query",
  PrepareStmt: "query",
  DeclareCursorStmt: "query",
};

const DML_OR_QUERY = new Set(["SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]);

export function describeStatement(stmt: unknown): Omit<SqlStatement, "fingerprint"> {
  const wrapper = isObject(stmt) ? stmt : {};
  const node = Object.keys(wrapper)[0] ?? "Unknown";
  let top = node;
  let body = isObject(wrapper[node]) ? (wrapper[node] as Json) : {};
  const wrapped = WRAPPERS[node];
  if (wrapped && isObject(body[wrapped])) {
    const inner = body[wrapped] as Json;
    top = Object.keys(inner)[0] ?? top;
    if (isObject(inner[top])) body = inner[top] as Json;
  }
  const walker = new Walker();
  const scope: Scope = new Set();
  if (top !== node) walker.visit(wrapper[node], scope);
  else if (DML_OR_QUERY.has(top) || top === "CopyStmt" || top === "DropStmt") walker.node(top, body, scope);
  else walker.utility(top, body, scope);
  const f = walker.facts;
  const kind = kindOf(top, body);
  const setting =
    top === "VariableSetStmt" || top === "VariableShowStmt"
      ? (str(body.name) ?? (body.kind === "VAR_RESET_ALL" ? "all" : "")).toLowerCase()
      : null;
  const hasUpdateOrDelete = f.dml.has("update") || f.dml.has("delete");
  return {
    kind,
    node,
    tables_read: [...f.read],
    tables_written: [...f.written],
    columns: [...f.columns],
    functions: [...f.functions],
    has_where: hasUpdateOrDelete ? !f.unbounded : body.whereClause !== undefined,
    is_dynamic: f.dynamic,
    copy_program: top === "CopyStmt" && body.is_program === true,
    copy_file: top === "CopyStmt" && body.is_program !== true && typeof body.filename === "string",
    dml: [...f.dml],
    expression_columns: [...walker.lineage.computed],
    filter_columns: [...walker.lineage.filters],
    row_references: walker.lineage.rowReferences(),
    renamed_columns: walker.lineage.renamedColumns(),
    setting,
    locks: [...f.locks],
    transaction:
      top === "TransactionStmt" ? (str(body.kind) ?? "").replace(/^TRANS_STMT_/, "").toLowerCase() : null,
  };
}
