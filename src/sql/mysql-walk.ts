// From a node-sql-parser MariaDB AST to the protocol-neutral SqlStatement (types.ts): tables read and
// written, columns by how their values leave (output, computed, filter), functions, DML, locks. Mirrors
// walk.ts's conservative rules: a column whose value reaches the client through anything but a bare
// top-level select item counts as an expression column; conditions, joins, grouping, ordering and
// positions count as filters. A statement type the walk does not know is an error (refused).
import type { MysqlPiece } from "./mysql-lexer.ts";
import type { SqlStatement, StatementKind } from "./types.ts";

type Node = Record<string, unknown>;
type Use = "output" | "expression" | "filter";

interface Acc {
  s: SqlStatement;
  ctes: Set<string>;
}

/** A statement of `kind` with nothing found yet: what the walk and the token readers fill in. */
export function baseStatement(kind: StatementKind, node: string): SqlStatement {
  return {
    kind,
    node,
    tables_read: [],
    tables_written: [],
    columns: [],
    functions: [],
    has_where: false,
    is_dynamic: false,
    copy_program: false,
    copy_file: false,
    dml: [],
    expression_columns: [],
    filter_columns: [],
    row_references: [],
    renamed_columns: [],
    setting: null,
    locks: [],
    transaction: null,
    fingerprint: "",
  };
}

const isNode = (v: unknown): v is Node => typeof v === "object" && v !== null && !Array.isArray(v);

function columnName(ref: Node): string {
  let col = ref.column;
  if (isNode(col)) col = isNode(col.expr) ? col.expr.value : col.value;
  const name = String(col ?? "").toLowerCase();
  const table = typeof ref.table === "string" && ref.table ? `${ref.table.toLowerCase()}.` : "";
  return name === "*" && !table ? "*" : `${table}${name}`;
}

function functionName(fn: Node): string {
  const name = fn.name;
  if (typeof name === "string") return name.toLowerCase();
  if (isNode(name) && Array.isArray(name.name))
    return (name.name as Node[])
      .map((p) => String(p.value ?? ""))
      .join(".")
      .toLowerCase();
  return "";
}

function tableName(t: Node): string | null {
  if (typeof t.table !== "string") return null;
  const db = typeof t.db === "string" && t.db ? `${t.db.toLowerCase()}.` : "";
  return `${db}${t.table.toLowerCase()}`;
}

function addColumn(acc: Acc, name: string, use: Use): void {
  const s = acc.s;
  if (!s.columns.includes(name)) s.columns.push(name);
  if (use === "expression" && !s.expression_columns.includes(name)) s.expression_columns.push(name);
  if (use === "filter" && !s.filter_columns.includes(name)) s.filter_columns.push(name);
}

/** Every column, function and subquery in an expression, each counted under `use`. */
function expr(acc: Acc, node: unknown, use: Use): void {
  if (Array.isArray(node)) {
    for (const n of node) expr(acc, n, use);
    return;
  }
  if (!isNode(node)) return;
  if (isNode(node.ast)) {
    select(acc, node.ast, use === "filter" ? "filter" : "expression");
    return;
  }
  switch (node.type) {
    case "column_ref":
      addColumn(acc, columnName(node), use === "output" ? "expression" : use);
      return;
    case "select":
      select(acc, node, use === "filter" ? "filter" : "expression");
      return;
    case "function":
    case "aggr_func": {
      const f = functionName(node);
      if (f && !acc.s.functions.includes(f)) acc.s.functions.push(f);
      break;
    }
    case "assign":
      // `@v := expr` stores a value in the session for later statements.
      acc.s.kind = "set";
      acc.s.setting = "user_variable";
      break;
  }
  for (const [k, v] of Object.entries(node)) {
    if (k === "type" || k === "name" || k === "as") continue;
    if (isNode(v) || Array.isArray(v)) expr(acc, v, use === "output" ? "expression" : use);
  }
}

function from(acc: Acc, items: unknown): void {
  if (!Array.isArray(items)) return;
  for (const item of items as Node[]) {
    if (!isNode(item)) continue;
    const name = tableName(item);
    if (name && !acc.ctes.has(name) && !acc.s.tables_read.includes(name)) acc.s.tables_read.push(name);
    if (isNode(item.expr)) {
      if (isNode(item.expr.ast)) select(acc, item.expr.ast, "expression");
      else expr(acc, item.expr, "expression"); // table functions (JSON_TABLE, VALUES)
    }
    if (item.on) expr(acc, item.on, "filter");
    if (Array.isArray(item.using))
      for (const u of item.using as Node[]) addColumn(acc, String(u.value ?? u).toLowerCase(), "filter");
  }
}

/** `group by 2` / `order by 2`: the select item at that position is a filter. */
function positional(acc: Acc, sel: Node, items: unknown): void {
  if (!Array.isArray(items)) return;
  const columns = Array.isArray(sel.columns) ? (sel.columns as Node[]) : [];
  for (const item of items as Node[]) {
    const e = isNode(item) && isNode(item.expr) ? item.expr : item;
    if (isNode(e) && e.type === "number") {
      const target = columns[Number(e.value) - 1];
      if (!target) addColumn(acc, "*", "filter");
      else expr(acc, target.expr, "filter");
      continue;
    }
    // An output name in ORDER BY stands for its item: `select ssn as a … order by a`.
    if (isNode(e) && e.type === "column_ref" && !e.table) {
      const name = columnName(e);
      const aliased = columns.find((c) => typeof c.as === "string" && c.as.toLowerCase() === name);
      if (aliased) expr(acc, aliased.expr, "filter");
    }
    expr(acc, e, "filter");
  }
}

function select(acc: Acc, sel: Node, role: "top" | "expression" | "filter"): void {
  const setOp = isNode(sel._next);
  const outputUse: Use = role === "top" && !setOp ? "output" : role === "filter" ? "filter" : "expression";
  if (isNode(sel.with) || Array.isArray(sel.with)) {
    for (const cte of (Array.isArray(sel.with) ? sel.with : [sel.with]) as Node[]) {
      const n = isNode(cte.name) ? String(cte.name.value ?? "") : String(cte.name ?? "");
      if (n) acc.ctes.add(n.toLowerCase());
      const stmt = isNode(cte.stmt) ? (isNode(cte.stmt.ast) ? cte.stmt.ast : cte.stmt) : null;
      if (stmt) select(acc, stmt, "expression");
    }
  }
  from(acc, sel.from);
  if (Array.isArray(sel.columns)) {
    for (const c of sel.columns as Node[]) {
      const e = c.expr;
      if (isNode(e) && e.type === "column_ref" && outputUse === "output") {
        const name = columnName(e);
        addColumn(acc, name, "output");
        if (typeof c.as === "string" && c.as)
          acc.s.renamed_columns.push({ name: c.as.toLowerCase(), from: name });
      } else {
        expr(acc, e, outputUse === "output" ? "expression" : outputUse);
        if (typeof c.as === "string" && c.as && isNode(e)) {
          // An alias of a computed item stands for every column it reads.
          const inner: Acc = { s: baseStatement("select", ""), ctes: acc.ctes };
          expr(inner, e, "expression");
          for (const col of inner.s.columns)
            acc.s.renamed_columns.push({ name: c.as.toLowerCase(), from: col });
        }
      }
    }
  }
  if (sel.where) {
    expr(acc, sel.where, "filter");
    if (role === "top") acc.s.has_where = true;
  }
  if (isNode(sel.groupby)) positional(acc, sel, sel.groupby.columns);
  if (sel.having) expr(acc, sel.having, "filter");
  positional(acc, sel, sel.orderby);
  if (sel.limit) expr(acc, sel.limit, "filter");
  if (sel.window) expr(acc, sel.window, "filter");
  if (isNode(sel.distinct) && sel.distinct.columns) expr(acc, sel.distinct.columns, "filter");
  const into = sel.into;
  if (isNode(into) && into.keyword) {
    if (into.keyword === "var") {
      acc.s.kind = "set";
      acc.s.setting = "user_variable";
    } else acc.s.copy_file = true; // INTO OUTFILE / DUMPFILE writes a file on the database server
  }
  // Locking clauses are read from the tokens (mysql-classifier.ts): the grammar keeps only some.
  if (setOp) select(acc, sel._next as Node, role === "filter" ? "filter" : "expression");
}

/** MariaDB's `INSERT/REPLACE/DELETE … RETURNING`: its items are the statement's output, as a SELECT's. */
function returning(acc: Acc, ast: Node): void {
  const r = ast.returning;
  if (isNode(r) && Array.isArray(r.columns)) select(acc, { columns: r.columns } as Node, "top");
}

function written(acc: Acc, tables: unknown): void {
  if (!Array.isArray(tables)) return;
  for (const t of tables as Node[]) {
    const name = isNode(t) ? tableName(t) : null;
    if (name && !acc.s.tables_written.includes(name)) acc.s.tables_written.push(name);
  }
}

function hasColumn(node: unknown): boolean {
  const probe: Acc = { s: baseStatement("select", ""), ctes: new Set() };
  expr(probe, node, "filter");
  return probe.s.columns.length > 0;
}

/** Collects every {db, table} a DDL statement names. */
function namedTables(node: unknown, out: Set<string>): void {
  if (Array.isArray(node)) {
    for (const n of node) namedTables(n, out);
    return;
  }
  if (!isNode(node)) return;
  const name = tableName(node);
  if (name) out.add(name);
  for (const v of Object.values(node)) if (isNode(v) || Array.isArray(v)) namedTables(v, out);
}

const DDL: Record<string, StatementKind> = {
  create: "create",
  alter: "alter",
  drop: "drop",
  truncate: "truncate",
  rename: "alter",
  grant: "grant",
  revoke: "revoke",
};

export function describeMysqlAst(ast: Node, _piece: MysqlPiece): SqlStatement | { error: string } {
  const type = String(ast.type ?? "");
  switch (type) {
    case "select": {
      const acc: Acc = { s: baseStatement("select", "SelectStmt"), ctes: new Set() };
      select(acc, ast, "top");
      return acc.s;
    }
    case "insert":
    case "replace": {
      const acc: Acc = {
        s: baseStatement("insert", type === "insert" ? "InsertStmt" : "ReplaceStmt"),
        ctes: new Set(),
      };
      acc.s.dml.push("insert");
      written(acc, ast.table);
      if (Array.isArray(ast.columns))
        for (const c of ast.columns) addColumn(acc, String(c).toLowerCase(), "expression");
      const values = ast.values;
      if (isNode(values) && values.type === "select") select(acc, values, "expression");
      else expr(acc, values, "expression");
      if (isNode(ast.select)) select(acc, ast.select, "expression");
      if (isNode(ast.on_duplicate_update)) expr(acc, ast.on_duplicate_update.set, "expression");
      if (Array.isArray(ast.set)) expr(acc, ast.set, "expression");
      returning(acc, ast);
      return acc.s;
    }
    case "update": {
      const acc: Acc = { s: baseStatement("update", "UpdateStmt"), ctes: new Set() };
      acc.s.dml.push("update");
      written(acc, ast.table);
      from(acc, ast.table);
      if (Array.isArray(ast.set))
        for (const a of ast.set as Node[]) {
          addColumn(acc, String(a.column ?? "").toLowerCase(), "expression");
          expr(acc, a.value, "expression");
        }
      if (ast.where) expr(acc, ast.where, "filter");
      acc.s.has_where = ast.where !== null && ast.where !== undefined && hasColumn(ast.where);
      positional(acc, ast, ast.orderby);
      if (ast.limit) expr(acc, ast.limit, "filter");
      return acc.s;
    }
    case "delete": {
      const acc: Acc = { s: baseStatement("delete", "DeleteStmt"), ctes: new Set() };
      acc.s.dml.push("delete");
      written(acc, ast.table);
      from(acc, ast.from);
      if (ast.where) expr(acc, ast.where, "filter");
      acc.s.has_where = ast.where !== null && ast.where !== undefined && hasColumn(ast.where);
      positional(acc, ast, ast.orderby);
      returning(acc, ast);
      return acc.s;
    }
    case "explain": {
      const inner = isNode(ast.expr) ? describeMysqlAst(ast.expr, _piece) : { error: "EXPLAIN of nothing" };
      if ("error" in inner) return inner;
      // Plans name tables and estimates, not values; an EXPLAIN of a write still names the write.
      return { ...inner, node: "ExplainStmt", kind: inner.dml.length ? inner.kind : "other" };
    }
    case "desc":
      return baseStatement("other", "MysqlShow");
    case "call": {
      const acc: Acc = { s: baseStatement("call", "CallStmt"), ctes: new Set() };
      expr(acc, ast.expr, "expression");
      return acc.s;
    }
    case "lock":
    case "unlock":
      return baseStatement("other", "MysqlLock");
  }
  const kind = DDL[type];
  if (kind) {
    const s = baseStatement(kind, `Mysql${type[0]!.toUpperCase()}${type.slice(1)}`);
    const tables = new Set<string>();
    namedTables(ast, tables);
    s.tables_written = [...tables];
    return s;
  }
  return { error: `statement type ${type || "(unknown)"} is not classified by the gateway` };
}
