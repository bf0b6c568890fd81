// Which classified statements take effect only when their transaction commits: one plain INSERT, UPDATE,
// DELETE, MERGE or SELECT whose function calls are all on a vetted list of built-ins without effects outside
// the transaction. A protocol may run such a statement before its audit record is durable, inside a
// transaction it holds open, and delay only the commit (the write path of ENFORCEMENT.md §8). Anything else
// (DDL, CALL, DO, COPY, transaction control, statements PostgreSQL refuses in a transaction block, dynamic
// SQL, a function not listed: nextval, setval, dblink_exec, lo_*, pg_advisory_lock, user functions) keeps
// the hold before it is forwarded.
import type { SqlStatement } from "./types.ts";

const KINDS: ReadonlySet<string> = new Set(["insert", "update", "delete", "merge", "select"]);

/**
 * Built-ins whose only effect is their result (immutable or stable, or volatile only in what they return:
 * random, clock_timestamp, gen_random_uuid). Not listed on purpose: sequence functions (nextval, setval:
 * not rolled back), advisory locks (session-level), dblink*, large objects (lo_*, server-side files),
 * pg_notify, set_config, signalling and administration functions (pg_terminate_backend, pg_reload_conf…).
 */
const SAFE_FUNCTIONS: ReadonlySet<string> = new Set([
  // aggregates and window functions
  ...["count", "sum", "avg", "min", "max", "array_agg", "string_agg", "bool_and", "bool_or", "every"],
  ...["json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg"],
  ...["row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead"],
  ...["first_value", "last_value", "nth_value"],
  // strings
  ...["lower", "upper", "length", "char_length", "character_length", "octet_length", "substr", "substring"],
  ...["trim", "btrim", "ltrim", "rtrim", "concat", "concat_ws", "replace", "split_part", "strpos"],
  ...["position", "left", "right", "lpad", "rpad", "initcap", "repeat", "reverse", "format", "md5"],
  ...["sha256", "encode", "decode", "to_hex", "regexp_replace", "regexp_match", "starts_with"],
  ...["translate", "ascii", "chr", "quote_ident", "quote_literal", "quote_nullable"],
  // numbers
  ...["abs", "round", "floor", "ceil", "ceiling", "trunc", "mod", "power", "sqrt", "sign", "div"],
  ...["ln", "log", "exp", "random", "width_bucket"],
  // dates and times
  ...["now", "clock_timestamp", "statement_timestamp", "transaction_timestamp", "date_trunc", "date_part"],
  ...["extract", "age", "to_char", "to_date", "to_timestamp", "to_number", "make_date", "make_time"],
  ...["make_timestamp", "make_timestamptz", "make_interval", "timezone", "date_bin"],
  // json and arrays
  ...["to_json", "to_jsonb", "json_build_object", "jsonb_build_object", "json_build_array"],
  ...["jsonb_build_array", "jsonb_set", "jsonb_insert", "json_extract_path", "jsonb_extract_path"],
  ...["json_extract_path_text", "jsonb_extract_path_text", "jsonb_array_length", "json_array_length"],
  ...["jsonb_typeof", "json_typeof", "jsonb_strip_nulls", "row_to_json", "array_to_json"],
  ...["array_length", "array_append", "array_prepend", "array_cat", "array_position", "array_remove"],
  ...["cardinality", "unnest", "array_to_string", "string_to_array", "generate_series"],
  // identifiers
  "gen_random_uuid",
]);

/** True for a function call as written (`lower`, `pg_catalog.lower`) that is on the vetted list. */
function safeFunction(name: string): boolean {
  const dot = name.lastIndexOf(".");
  if (dot === -1) return SAFE_FUNCTIONS.has(name.toLowerCase());
  return (
    name.slice(0, dot).toLowerCase() === "pg_catalog" && SAFE_FUNCTIONS.has(name.slice(dot + 1).toLowerCase())
  );
}

/**
 * Every function call is on the vetted list and nothing runs SQL or files the parse tree does not show: the
 * statements' effects are their results and their transaction's own writes. A read that is not so (SELECT
 * nextval, pg_advisory_lock, dblink_exec, a user function) is a write for the audit record's durability.
 */
export function callsOnlyVettedFunctions(statements: readonly SqlStatement[] | undefined): boolean {
  if (!statements || statements.length === 0) return false;
  return statements.every(
    (s) => !s.is_dynamic && !s.copy_program && !s.copy_file && s.functions.every(safeFunction),
  );
}

/** One statement whose every effect takes hold only when its transaction commits (see above). */
export function commitsWithTransaction(statements: readonly SqlStatement[] | undefined): boolean {
  if (statements?.length !== 1) return false;
  const s = statements[0]!;
  if (!KINDS.has(s.kind) || s.is_dynamic || s.copy_program || s.copy_file) return false;
  return s.functions.every(safeFunction);
}
