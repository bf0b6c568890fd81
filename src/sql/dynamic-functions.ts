// Functions that run SQL text (or read whole tables by a name given as a value), so the statement that
// calls them does more than its parse tree shows. Matched on the unqualified, lower-cased name.

export const SQL_TEXT_FUNCTIONS: ReadonlySet<string> = new Set([
  // xml functions that execute a query string or dump tables named by value
  "query_to_xml",
  "query_to_xmlschema",
  "query_to_xml_and_xmlschema",
  "table_to_xml",
  "table_to_xmlschema",
  "table_to_xml_and_xmlschema",
  "schema_to_xml",
  "schema_to_xmlschema",
  "schema_to_xml_and_xmlschema",
  "database_to_xml",
  "database_to_xmlschema",
  "database_to_xml_and_xmlschema",
  // text search functions that take a query string
  "ts_stat",
  "ts_rewrite",
  // dblink runs SQL text on another server
  "dblink",
  "dblink_exec",
  "dblink_open",
  "dblink_fetch",
  "dblink_send_query",
  // tablefunc
  "crosstab",
  "crosstab2",
  "crosstab3",
  "crosstab4",
  "connectby",
]);

export function baseName(qualified: string): string {
  const dot = qualified.lastIndexOf(".");
  return dot === -1 ? qualified : qualified.slice(dot + 1);
}
