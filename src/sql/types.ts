// What the SQL classifier says about a query string: one entry per statement, protocol-neutral so any
// SQL protocol (PostgreSQL now, MySQL later) hands the policy the same shape.

export type StatementKind =
  | "select"
  | "insert"
  | "update"
  | "delete"
  | "merge"
  | "truncate"
  | "drop"
  | "alter"
  | "create"
  | "grant"
  | "revoke"
  | "copy"
  | "call"
  | "do"
  | "set"
  | "transaction"
  | "other";

/** Data-modifying operations, wherever they sit in a statement (top level, CTE, EXPLAIN ANALYZE, PREPARE). */
export type DmlKind = "insert" | "update" | "delete" | "merge";

export interface SqlStatement {
  kind: StatementKind;
  /** The parser's node name (`SelectStmt`, `VariableShowStmt`, ...), for rules finer than `kind`. */
  node: string;
  /** Schema-qualified (`public.` assumed when unqualified, `pg_catalog.` for unqualified `pg_*`). */
  tables_read: string[];
  tables_written: string[];
  /** Column references as written, dotted (`a.ssn`, `ssn`, `*`), plus assigned columns of INSERT/UPDATE. */
  columns: string[];
  /** Called functions as written, dotted when qualified (`pg_catalog.pg_read_file`). */
  functions: string[];
  /**
   * True when every UPDATE/DELETE in the statement has a WHERE that references a column (a WHERE made
   * only of constants, like `WHERE true`, does not restrict rows); for statements with no UPDATE/DELETE,
   * whether the top-level statement has a WHERE.
   */
  has_where: boolean;
  /** Runs SQL text this classification cannot see: DO, EXECUTE, function bodies, query_to_xml, dblink. */
  is_dynamic: boolean;
  copy_program: boolean;
  /** COPY to or from a file on the database server. */
  copy_file: boolean;
  /** DML anywhere inside the statement, including CTEs, EXPLAIN ANALYZE and PREPARE. */
  dml: DmlKind[];
  /**
   * Column references whose values reach the output through an expression (a function, operator, cast,
   * CASE, aggregate, subquery, set-operation arm, VALUES): the result column no longer carries the
   * source column's identity, so a column mask cannot find it.
   */
  expression_columns: string[];
  /** Column references in WHERE, JOIN ON/USING, GROUP BY, HAVING, ORDER BY, DISTINCT ON, LIMIT: oracles. */
  filter_columns: string[];
  /** Relations read as one value (`row_to_json(c)`, `to_json(c.*)`, `select c from customers c`). */
  row_references: string[];
  /**
   * Output names given to columns (`ssn as a`, `s(a)`, `with x(a)`), each with a column it stands for
   * (transitively); `*` when a positional rename covers columns the statement does not name.
   */
  renamed_columns: { name: string; from: string }[];
  /** For SET/RESET/SHOW: the setting's name, lower-cased (`role`, `session_authorization`, `search_path`). */
  setting: string | null;
  /** Row-locking clauses anywhere in the statement: `update`, `no key update`, `share`, `key share`. */
  locks: string[];
  /**
   * For transaction statements, what they do, lower-cased (`begin`, `commit`, `prepare` for PREPARE
   * TRANSACTION, `commit_prepared`, `rollback_prepared`, `savepoint`, …); null otherwise.
   */
  transaction: string | null;
  /** pg_query fingerprint: equal for statements that differ only in literal values. */
  fingerprint: string;
}

export interface SqlClassification {
  statements: SqlStatement[];
  /** Parser message when the text is not valid SQL; `statements` is then empty. */
  error?: string;
  /** With `error`: 1-based character position the parser points at (ErrorResponse field 'P'). */
  errorPosition?: number;
  /**
   * Set with `error` when a statement would change a setting the parser relies on (client_encoding,
   * standard_conforming_strings, backslash_quote) to a value it does not assume: refused for everyone.
   */
  parity?: { setting: string; value: string };
  /** Literal-free form of the whole text; equal texts share one classification and one decision. */
  shape: string;
}
