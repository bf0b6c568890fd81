// MySQL statements classified from the gateway's own tokens rather than the grammar library: SET (whose
// values decide lexing parity), SHOW, transaction control, PREPARE/EXECUTE, KILL and the administrative
// statements the library lacks. Each returns the same SqlStatement shape as the walk.
import { Parser } from "node-sql-parser";
import type { MysqlPiece, MysqlToken } from "./mysql-lexer.ts";
import { baseStatement, describeMysqlAst } from "./mysql-walk.ts";
import type { SqlStatement, StatementKind } from "./types.ts";

type Classified = SqlStatement | { error: string; parity?: { setting: string; value: string } };

const word = (t: MysqlToken | undefined) => (t?.kind === "word" ? t.text : undefined);

// SQL modes that leave lexing and the grammar's reading unchanged (sql_mode reference). Anything else
// (ANSI_QUOTES, NO_BACKSLASH_ESCAPES, IGNORE_SPACE, PIPES_AS_CONCAT, ANSI, ORACLE, MSSQL, DB2, POSTGRESQL,
// MAXDB, …) or an unknown mode is refused.
export const SAFE_SQL_MODES: ReadonlySet<string> = new Set([
  "",
  "strict_trans_tables",
  "strict_all_tables",
  "error_for_division_by_zero",
  "no_auto_create_user",
  "no_engine_substitution",
  "no_zero_date",
  "no_zero_in_date",
  "only_full_group_by",
  "no_auto_value_on_zero",
  "allow_invalid_dates",
  "pad_char_to_full_length",
  "real_as_float",
  "no_unsigned_subtraction",
  "no_dir_in_create",
  "no_field_options",
  "no_key_options",
  "no_table_options",
  "traditional",
  "time_round_fractional",
  "simultaneous_assignment",
  "high_not_precedence",
]);
/** The first mode of a server's sql_mode the gateway does not lex alike, or null when all are safe. */
export function unsafeSqlMode(sqlMode: string): string | null {
  for (const m of sqlMode.toLowerCase().split(",")) if (!SAFE_SQL_MODES.has(m.trim())) return m.trim();
  return null;
}

const UTF8MB4 = new Set(["utf8mb4", "'utf8mb4'", '"utf8mb4"']);
const CLIENT_CHARSET_SETTINGS = new Set([
  "character_set_client",
  "character_set_connection",
  "collation_connection",
]);
// Results in these reach detectors as ASCII-compatible bytes; UTF-16/32 would hide digits from them.
export const RESULT_CHARSETS: ReadonlySet<string> = new Set([
  "utf8mb4",
  "utf8",
  "utf8mb3",
  "latin1",
  "ascii",
  "binary",
  "null",
]);

function unquote(t: MysqlToken): string {
  if (t.kind !== "string") return t.text.toLowerCase();
  return t.text.slice(1, -1).replace(/\\(.)/g, "$1").toLowerCase();
}

function parity(setting: string, value: string, message: string): Classified {
  return { error: message, parity: { setting, value } };
}

const parser = new Parser();

/** `SET …`: one statement per assignment. */
export function classifySetStatement(piece: MysqlPiece): Classified {
  const toks = piece.tokens.slice(1);
  const first = word(toks[0]);
  if (first === "names" || first === "charset" || (first === "character" && word(toks[1]) === "set")) {
    const valueTok = first === "character" ? toks[2] : toks[1];
    const value = valueTok ? unquote(valueTok) : "";
    if (!UTF8MB4.has(value))
      return parity(
        "names",
        value,
        `the gateway pins the connection character set to utf8mb4 (SET NAMES ${value} refused)`,
      );
    return { ...baseStatement("set", "VariableSetStmt"), setting: "names" };
  }
  if (first === "password") return baseStatement("alter", "MysqlSetPassword");
  if (first === "role" || first === "default")
    return { ...baseStatement("set", "VariableSetStmt"), setting: "role" };
  if (first === "statement")
    return { error: "SET STATEMENT ... FOR is refused (it changes settings for one statement)" };
  let scope: string | null = null;
  if (first === "transaction" || word(toks[1]) === "transaction") {
    return { ...baseStatement("set", "VariableSetStmt"), setting: "transaction_isolation" };
  }
  // Split the assignments at depth-0 commas.
  const assignments: MysqlToken[][] = [[]];
  let depth = 0;
  for (const t of toks) {
    if (t.kind === "symbol" && t.text === "(") depth++;
    if (t.kind === "symbol" && t.text === ")") depth--;
    if (depth === 0 && t.kind === "symbol" && t.text === ",") assignments.push([]);
    else assignments[assignments.length - 1]!.push(t);
  }
  const out: SqlStatement[] = [];
  for (const a of assignments) {
    let i = 0;
    const w = word(a[0]);
    if (w === "global" || w === "session" || w === "local" || w === "persist" || w === "persist_only") {
      scope = w;
      i++;
    }
    const target = a[i];
    if (!target) return { error: "SET without a variable" };
    let name: string;
    let user = false;
    if (target.kind === "variable") {
      if (target.text.startsWith("@@")) {
        const parts = target.text.slice(2).split(".");
        if (parts.length > 1 && ["global", "persist", "persist_only"].includes(parts[0]!)) scope = parts[0]!;
        name = parts[parts.length - 1]!;
      } else {
        user = true;
        name = target.text;
      }
    } else if (target.kind === "word" || target.kind === "quoted") {
      name = target.kind === "quoted" ? target.text.slice(1, -1).toLowerCase() : target.text;
    } else return { error: "SET of something that is not a variable" };
    const op = a[i + 1];
    if (!op || op.kind !== "symbol" || (op.text !== "=" && op.text !== ":="))
      return { error: "SET without '='" };
    const valueToks = a.slice(i + 2);
    const single = valueToks.length === 1 ? valueToks[0]! : null;
    const literal =
      single && (single.kind === "string" || single.kind === "word" || single.kind === "number");
    if (name === "sql_mode") {
      if (!literal)
        return parity(
          "sql_mode",
          "(computed)",
          "sql_mode may only be set to a literal list of modes the gateway reads alike",
        );
      const modes = unquote(single!)
        .split(",")
        .map((m) => m.trim());
      const bad = modes.find((m) => !SAFE_SQL_MODES.has(m));
      if (bad !== undefined)
        return parity("sql_mode", bad, `sql_mode ${bad.toUpperCase()} would make the gateway misread SQL`);
    }
    if (name.startsWith("session_track")) {
      // The gateway watches the server's session-state reports (protocols/mysql/session-state.ts).
      const value = literal ? unquote(single!) : "(computed)";
      return parity(name, value, `the gateway pins ${name}: it reads the session's state from it`);
    }
    if (CLIENT_CHARSET_SETTINGS.has(name)) {
      const value = literal ? unquote(single!) : "(computed)";
      if (!value.startsWith("utf8mb4"))
        return parity(name, value, `the gateway pins ${name} to utf8mb4 (${value} refused)`);
    }
    if (name === "character_set_results") {
      const value = literal ? unquote(single!) : "(computed)";
      if (!RESULT_CHARSETS.has(value))
        return parity(name, value, `character_set_results ${value} would hide values from masking`);
    }
    const statement: SqlStatement = {
      ...baseStatement(
        scope === "global" || scope === "persist" || scope === "persist_only" ? "alter" : "set",
        "VariableSetStmt",
      ),
      setting: user ? "user_variable" : name,
    };
    if (!literal && valueToks.length > 0) {
      // The value is an expression (it may read tables): classified as the SELECT that computes it.
      const start = valueToks[0]!.start;
      const end = valueToks[valueToks.length - 1]!.end;
      const exprText = `SELECT ${piece.text.slice(start, end)}`;
      let ast: unknown;
      try {
        ast = parser.astify(exprText, { database: "MariaDB" });
      } catch (err) {
        return { error: err instanceof Error ? err.message.split("\n")[0]! : String(err) };
      }
      if (Array.isArray(ast)) return { error: "SET value splits into several statements" };
      const read = describeMysqlAst(ast as unknown as Record<string, unknown>, piece);
      if ("error" in read) return read;
      statement.tables_read = read.tables_read;
      statement.functions = read.functions;
      statement.columns = read.columns;
      // Everything a SET computes leaves through the variable, never as a result column.
      statement.expression_columns = read.columns;
    }
    out.push(statement);
  }
  if (out.length === 1) return out[0]!;
  // Several assignments: one statement carrying all, the most restrictive kind and every setting named.
  const settings = out.map((s) => s.setting).filter((s): s is string => s !== null);
  const kind = out.some((s) => s.kind === "alter") ? "alter" : "set";
  const merged = { ...baseStatement(kind, "VariableSetStmt"), setting: settings[0] ?? null };
  for (const s of out) {
    merged.tables_read.push(...s.tables_read);
    merged.functions.push(...s.functions);
    merged.columns.push(...s.columns);
    merged.expression_columns.push(...s.expression_columns);
  }
  // Each further setting must pass the same rules: refuse mixes the policy could not see one by one.
  if (new Set(settings).size > 1) return { ...merged, setting: "(several)" };
  return merged;
}

// SHOW forms agents may read (catalog and own-session information); others are "MysqlShowOther".
const SHOW_READABLE = new Set([
  "tables",
  "columns",
  "fields",
  "databases",
  "schemas",
  "index",
  "indexes",
  "keys",
  "create",
  "table",
  "variables",
  "warnings",
  "errors",
  "collation",
  "character",
  "charset",
  "engines",
  "status",
  "grants",
  "count",
  "triggers",
  "events",
  "plugins",
  "privileges",
]);

const ADMIN = new Set([
  "flush",
  "reset",
  "purge",
  "install",
  "uninstall",
  "shutdown",
  "change",
  "binlog",
  "optimize",
  "repair",
  "cache",
  "load",
  "rename",
  "lock",
  "unlock",
  "backup",
  "restart",
  "start",
  "stop",
  "create",
  "alter",
  "drop",
]);

/** Statements read from tokens; null when the grammar should parse it. */
export function classifyTokenStatement(piece: MysqlPiece): Classified | null {
  const t = piece.tokens;
  const w0 = word(t[0]);
  const w1 = word(t[1]);
  switch (w0) {
    case "show": {
      let what = w1 ?? "";
      if (what === "full" || what === "global" || what === "session") what = word(t[2]) ?? "";
      const readable = SHOW_READABLE.has(what);
      return baseStatement("other", readable ? "MysqlShow" : "MysqlShowOther");
    }
    case "use":
      return parity(
        "database",
        word(t[1]) ?? "",
        "changing the database is refused: the connection names it",
      );
    case "begin":
      return { ...baseStatement("transaction", "TransactionStmt"), transaction: "begin" };
    case "start":
      if (w1 === "transaction")
        return { ...baseStatement("transaction", "TransactionStmt"), transaction: "begin" };
      break;
    case "commit":
      return { ...baseStatement("transaction", "TransactionStmt"), transaction: "commit" };
    case "rollback":
      if (t.some((x) => x.kind === "word" && x.text === "to"))
        return { ...baseStatement("transaction", "TransactionStmt"), transaction: "rollback_to" };
      return { ...baseStatement("transaction", "TransactionStmt"), transaction: "rollback" };
    case "savepoint":
      return { ...baseStatement("transaction", "TransactionStmt"), transaction: "savepoint" };
    case "release":
      return { ...baseStatement("transaction", "TransactionStmt"), transaction: "release" };
    case "xa":
      // Two-phase commit outlives the session, like PostgreSQL's PREPARE TRANSACTION.
      return { ...baseStatement("transaction", "TransactionStmt"), transaction: "prepare" };
    case "prepare":
    case "execute":
    case "deallocate":
      // SQL-level prepared statements run text this classification does not see at execution.
      return { ...baseStatement("other", "MysqlPrepare"), is_dynamic: true };
    case "load":
      // LOAD DATA [LOCAL] INFILE / LOAD XML: a file into a table (LOCAL is refused at the protocol too).
      return { ...baseStatement("copy", "MysqlLoadData"), copy_file: true, dml: ["insert"] };
    case "kill":
      return baseStatement("other", "MysqlKill");
    case "do":
    case "handler":
    case "help":
    case "signal":
    case "resignal":
    case "get":
    case "check":
    case "checksum":
    case "analyze":
      return baseStatement("other", `Mysql${w0[0]!.toUpperCase()}${w0.slice(1)}`);
  }
  if (
    w0 &&
    ADMIN.has(w0) &&
    !(w0 === "create" || w0 === "alter" || w0 === "drop" || w0 === "rename" || w0 === "lock")
  ) {
    return baseStatement("alter", `Mysql${w0[0]!.toUpperCase()}${w0.slice(1)}`);
  }
  return null;
}
