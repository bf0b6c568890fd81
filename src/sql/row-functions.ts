// Set-returning functions in FROM whose alias is not a table's whole row (walk.ts): psql's catalog
// queries alias generate_series and unnest and use the alias as a column (`prattrs[s]`, `'toast.' || x`).

import { isObject, str } from "./lineage.ts";

/**
 * Built-in set-returning functions whose rows are computed from their arguments alone (no table read by
 * name, no SQL text): `generate_series(…) s`, `unnest(…) x`. Unqualified or pg_catalog only.
 */
const DERIVED_ROW_FUNCTIONS: ReadonlySet<string> = new Set([
  "generate_series",
  "generate_subscripts",
  "unnest",
  "regexp_matches",
  "regexp_split_to_table",
  "string_to_table",
  "json_array_elements",
  "json_array_elements_text",
  "jsonb_array_elements",
  "jsonb_array_elements_text",
  "json_each",
  "json_each_text",
  "jsonb_each",
  "jsonb_each_text",
  "json_object_keys",
  "jsonb_object_keys",
  "json_to_record",
  "json_to_recordset",
  "jsonb_to_record",
  "jsonb_to_recordset",
  "jsonb_path_query",
  "aclexplode",
  "pg_options_to_table",
  // Catalog set-returning functions psql's \d and \dP call (against PostgreSQL 16+): relation OIDs, levels.
  "pg_partition_ancestors",
  "pg_partition_tree",
  "pg_get_keywords",
]);

/** Every function of a RangeFunction (`ROWS FROM (f(), g())` has several) is a derived-row built-in. */
export function derivedRows(functions: unknown): boolean {
  if (!Array.isArray(functions) || functions.length === 0) return false;
  return functions.every((item) => {
    const list = isObject(item) && isObject(item.List) ? item.List.items : undefined;
    const call = Array.isArray(list) && isObject(list[0]) ? list[0].FuncCall : undefined;
    if (!isObject(call)) return false;
    const name = Array.isArray(call.funcname)
      ? call.funcname
          .map((part) => (isObject(part) && isObject(part.String) ? str(part.String.sval) : ""))
          .join(".")
      : "";
    const dot = name.lastIndexOf(".");
    if (dot !== -1 && name.slice(0, dot) !== "pg_catalog") return false;
    return DERIVED_ROW_FUNCTIONS.has(name.slice(dot + 1));
  });
}
