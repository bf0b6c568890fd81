// The SQL statements that create, run or drop a session's server-side objects (prepared statements and
// cursors): PREPARE, EXECUTE, DEALLOCATE, DECLARE, FETCH, MOVE, CLOSE, DISCARD. A protocol tracks these
// objects so that an execution is decided with the decision of the object the server will actually run.
// Names come from the real parser, so `PREPARE Foo` and `"Foo"` name what the server names. Cached by text;
// a text without one of these keywords has none of these statements (a keyword cannot be escaped or split).

import { parseSync, scanSync } from "libpg-query";
import { Lru } from "./lru.ts";

export type ObjectOp =
  /** `PREPARE name AS query`: `text` is the whole PREPARE statement. */
  | { op: "prepare"; name: string }
  /**
   * `EXECUTE name(args)`: `args` is `SELECT <args>`, the argument expressions as a query of their own.
   * `nested` when the EXECUTE sits inside EXPLAIN or CREATE TABLE AS (which run it too).
   */
  | { op: "execute"; name: string; args: string; nested: boolean }
  /** `DEALLOCATE name`, or every prepared statement when `name` is null. */
  | { op: "deallocate"; name: string | null }
  | { op: "declare"; name: string; hold: boolean }
  /** FETCH and MOVE both run the cursor's query. */
  | { op: "fetch"; name: string; move: boolean }
  /** `CLOSE name`, or every cursor when `name` is null. */
  | { op: "close"; name: string | null }
  /** DISCARD ALL drops every prepared statement and cursor; other DISCARD targets drop neither. */
  | { op: "discard_all" };

export interface ObjectStatement {
  /** The statement's own text, as sliced from the query string. */
  text: string;
  /** null for a statement that touches no session object. */
  op: ObjectOp | null;
}

/** A keyword cannot be escaped or split in SQL: a text with none of these words has no object statement. */
const OBJECT_WORD = /prepare|execute|deallocate|declare|fetch|move|close|discard/i;

// DeclareCursorStmt options, src/include/nodes/parsenodes.h: CURSOR_OPT_HOLD = 0x0020.
const CURSOR_OPT_HOLD = 0x0020;

type Json = Record<string, unknown>;

/**
 * Splits `text` into its statements with their object operations; null when it has none (the common case,
 * decided on its own) or does not parse (the server will reject it; the decision refuses it too).
 */
export function objectStatements(text: string): ObjectStatement[] | null {
  if (!OBJECT_WORD.test(text)) return null;
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const result = analyse(text);
  if (text.length <= MAX_CACHED_LENGTH) cache.set(text, result);
  return result;
}

const cache = new Lru<string, ObjectStatement[] | null>(2048);
const MAX_CACHED_LENGTH = 16 * 1024;

function analyse(text: string): ObjectStatement[] | null {
  let tree: { stmts?: { stmt?: Json; stmt_location?: number; stmt_len?: number }[] };
  try {
    tree = parseSync(text);
  } catch {
    return null;
  }
  const out: ObjectStatement[] = [];
  let any = false;
  for (const raw of tree.stmts ?? []) {
    const start = raw.stmt_location ?? 0;
    const piece = raw.stmt_len ? text.slice(start, start + raw.stmt_len) : text.slice(start);
    const op = opOf(raw.stmt ?? {}, piece);
    if (op) any = true;
    out.push({ text: piece.trim(), op });
  }
  return any ? (Object.freeze(out) as ObjectStatement[]) : null;
}

function opOf(stmt: Json, piece: string, nested = false): ObjectOp | null {
  const node = Object.keys(stmt)[0];
  const body = (node && (stmt[node] as Json)) || {};
  const name = (v: unknown) => (typeof v === "string" ? v : "");
  switch (node) {
    case "PrepareStmt":
      return { op: "prepare", name: name(body.name) };
    case "ExecuteStmt":
      return { op: "execute", name: name(body.name), args: `SELECT ${executeArgs(piece)}`.trimEnd(), nested };
    case "ExplainStmt":
    case "CreateTableAsStmt":
      // EXPLAIN ANALYZE EXECUTE and CREATE TABLE AS EXECUTE run the prepared statement.
      return isJson(body.query) ? opOf(body.query, piece, true) : null;
    case "DeallocateStmt":
      return { op: "deallocate", name: body.isall === true ? null : name(body.name) };
    case "DeclareCursorStmt":
      return {
        op: "declare",
        name: name(body.portalname),
        hold: ((body.options as number) & CURSOR_OPT_HOLD) !== 0,
      };
    case "FetchStmt":
      return { op: "fetch", name: name(body.portalname), move: body.ismove === true };
    case "ClosePortalStmt":
      return { op: "close", name: typeof body.portalname === "string" ? body.portalname : null };
    case "DiscardStmt":
      return body.target === "DISCARD_ALL" ? { op: "discard_all" } : null;
    default:
      return null;
  }
}

/**
 * The argument list of `EXECUTE name (a, b)` as written: the tokens between the parenthesis after the name
 * and its match. The grammar's `execute_param_clause` is `'(' expr_list ')'`, which is also a valid select
 * list with the same meaning, so the arguments can be decided as `SELECT a, b`.
 */
function executeArgs(piece: string): string {
  const tokens = scanSync(piece).tokens.filter(
    (t) => t.tokenName !== "C_COMMENT" && t.tokenName !== "SQL_COMMENT",
  );
  // The last EXECUTE keyword is the statement's (EXPLAIN's options come before it); then the name, then
  // "(" when there are arguments.
  let at = -1;
  for (let i = 0; i < tokens.length; i++) if (tokens[i]!.text.toLowerCase() === "execute") at = i;
  const open = tokens[at + 2];
  if (at < 0 || !open || open.text !== "(") return "";
  let depth = 0;
  for (let i = at + 2; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.text === "(" || t.text === "[") depth++;
    else if (t.text === ")" || t.text === "]") depth--;
    if (depth === 0) return piece.slice(open.end, t.start);
  }
  return piece.slice(open.end);
}

const isJson = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
