// What of a statement the catalog connection plans: the statement itself when it is a query, the query
// inside EXPLAIN, PREPARE, DECLARE … CURSOR and COPY (…) TO, or nothing when it reads no data or writes
// (writes are refused for agents by the policy whatever they read). Also the functions it calls.
import { parseSync, scanSync } from "libpg-query";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export type StatementQuery =
  | { kind: "query"; text: string }
  | { kind: "unresolved"; reason: string }
  | { kind: "not_applicable"; reason: string };

export interface ParsedStatement {
  query: StatementQuery;
  /** Functions called, dotted when qualified (`pg_catalog.setval`). */
  functions: string[];
}

const DML_NODES = new Set(["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]);
const WRAPPERS = new Set(["ExplainStmt", "PrepareStmt", "DeclareCursorStmt", "CopyStmt"]);

function nodeName(stmt: unknown): string {
  return isObject(stmt) ? (Object.keys(stmt)[0] ?? "") : "";
}

function scanTree(tree: unknown): { functions: Set<string>; dml: boolean; positionalDistinct: boolean } {
  const functions = new Set<string>();
  let dml = false;
  let positionalDistinct = false;
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const item of v) visit(item);
      return;
    }
    if (!isObject(v)) return;
    for (const [key, value] of Object.entries(v)) {
      if (DML_NODES.has(key) || key === "intoClause") dml = true;
      if (key === "FuncCall" && isObject(value) && Array.isArray(value.funcname)) {
        const parts = value.funcname.map((p) =>
          isObject(p) && isObject(p.String) ? String(p.String.sval) : "",
        );
        functions.add(parts.join("."));
      }
      // DISTINCT ON (2) reads 2 as a position, but the statement shape (pg_query normalize) does not keep
      // it: every literal variant would share one decision, so none is resolved.
      if (key === "distinctClause" && Array.isArray(value))
        if (value.some((item) => isObject(item) && isObject(item.A_Const))) positionalDistinct = true;
      visit(value);
    }
  };
  visit(tree);
  return { functions, dml, positionalDistinct };
}

/** The text after the first token matching `after` (a keyword) that follows `from`, for wrapper statements. */
function textAfter(text: string, keywords: readonly string[]): string | null {
  const bytes = Buffer.from(text);
  const tokens = scanSync(text).tokens;
  let k = 0;
  for (const t of tokens) {
    if (t.text.toLowerCase() === keywords[k]) {
      k++;
      if (k === keywords.length) return bytes.subarray(t.end).toString().trim();
    }
  }
  return null;
}

/** The parenthesised query of `COPY (query) TO …`. */
function copyQuery(text: string): string | null {
  const bytes = Buffer.from(text);
  const tokens = scanSync(text).tokens;
  if (tokens[0]?.text.toLowerCase() !== "copy" || tokens[1]?.text !== "(") return null;
  let depth = 0;
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!.text;
    if (t === "(") depth++;
    else if (t === ")" && --depth === 0) return bytes.subarray(tokens[1]!.end, tokens[i]!.start).toString();
  }
  return null;
}

/** The one query a wrapper runs, re-parsed to check it is exactly the wrapped node. */
function innerQuery(node: string, body: Json, text: string): string | null {
  let inner: string | null = null;
  if (node === "PrepareStmt") inner = textAfter(text, ["as"]);
  else if (node === "DeclareCursorStmt") inner = textAfter(text, ["cursor", "for"]);
  else if (node === "CopyStmt") inner = copyQuery(text);
  else if (node === "ExplainStmt") {
    // EXPLAIN [ANALYZE] [VERBOSE] [(options)] query: the query starts at its first keyword.
    const wanted = nodeName(body.query);
    const starts = ["select", "with", "values", "table", "("];
    const tokens = scanSync(text).tokens;
    const bytes = Buffer.from(text);
    let i = 1;
    if (tokens[i]?.text === "(") {
      let depth = 0;
      for (; i < tokens.length; i++) {
        if (tokens[i]!.text === "(") depth++;
        else if (tokens[i]!.text === ")" && --depth === 0) {
          i++;
          break;
        }
      }
    }
    while (i < tokens.length && !starts.includes(tokens[i]!.text.toLowerCase())) i++;
    if (wanted === "SelectStmt" && i < tokens.length) inner = bytes.subarray(tokens[i]!.start).toString();
  }
  if (inner === null) return null;
  try {
    const again = parseSync(inner).stmts ?? [];
    if (again.length !== 1 || nodeName(again[0]!.stmt) !== "SelectStmt") return null;
  } catch {
    return null;
  }
  return inner;
}

/** Each statement of `text`, in parse order; throws when the parser refuses the text. */
export function statementQueries(text: string): ParsedStatement[] {
  const tree = parseSync(text);
  const bytes = Buffer.from(text);
  return (tree.stmts ?? []).map((raw) => {
    const start = raw.stmt_location ?? 0;
    const piece = (raw.stmt_len ? bytes.subarray(start, start + raw.stmt_len) : bytes.subarray(start))
      .toString()
      .trim();
    const stmt = raw.stmt as unknown as Json;
    const node = nodeName(stmt);
    const body = isObject(stmt) && isObject(stmt[node]) ? (stmt[node] as Json) : {};
    const facts = scanTree(raw.stmt);
    const functions = [...facts.functions];
    if (facts.dml) return { query: { kind: "not_applicable", reason: "writes" }, functions };
    if (facts.positionalDistinct)
      return { query: { kind: "unresolved", reason: "DISTINCT ON with a column position" }, functions };
    if (node === "SelectStmt") return { query: { kind: "query", text: piece }, functions };
    if (node === "CopyStmt" && !isObject(body.query))
      return {
        query: { kind: "not_applicable", reason: "COPY of a table (its columns are output as they are)" },
        functions,
      };
    if (WRAPPERS.has(node)) {
      const inner = innerQuery(node, body, piece);
      if (inner !== null) return { query: { kind: "query", text: inner }, functions };
      const wrapped = nodeName(body.query);
      if (node !== "CopyStmt" && wrapped !== "SelectStmt")
        return {
          query: { kind: "not_applicable", reason: `${node} of ${wrapped || "no query"}` },
          functions,
        };
      return {
        query: { kind: "unresolved", reason: `the query inside ${node} could not be isolated` },
        functions,
      };
    }
    return { query: { kind: "not_applicable", reason: node }, functions };
  });
}
