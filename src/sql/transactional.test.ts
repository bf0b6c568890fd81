// Which statements may run ahead of their audit record (their effects commit only with their transaction),
// classified by the real parser. Look-alikes sit beside each refusal: the same statement without the call.
import { beforeAll, describe, expect, test } from "bun:test";
import { createSqlClassifier, type SqlClassifier } from "./classifier.ts";
import { callsOnlyVettedFunctions, commitsWithTransaction } from "./transactional.ts";

let classifier: SqlClassifier;
beforeAll(async () => {
  classifier = await createSqlClassifier();
});

const proven = (text: string) => commitsWithTransaction(classifier.classify(text).statements);

describe("commitsWithTransaction", () => {
  const yes = [
    "INSERT INTO t VALUES (1, 'a')",
    "insert into t (id, at) values ($1, now())",
    "UPDATE accounts SET balance = balance + 5 WHERE id = 3",
    "DELETE FROM t WHERE id = 1 RETURNING *",
    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v",
    "SELECT count(*), lower(name) FROM t GROUP BY 2",
    "SELECT pg_catalog.upper(name) FROM t",
    "WITH x AS (DELETE FROM t WHERE id = 1 RETURNING *) INSERT INTO log SELECT * FROM x",
    "insert into t values (gen_random_uuid(), jsonb_build_object('a', 1))",
  ];
  const no = [
    // effects not rolled back with the transaction
    "INSERT INTO t VALUES (nextval('t_id_seq'), 'a')",
    "SELECT setval('t_id_seq', 100)",
    "SELECT nextval('s')",
    "SELECT dblink_exec('host=x', 'insert into r values (1)')",
    "UPDATE t SET v = public.dblink_exec('x', 'y') WHERE id = 1",
    "SELECT pg_advisory_lock(1)",
    "SELECT lo_import('/etc/passwd')",
    "SELECT pg_terminate_backend(1234)",
    "INSERT INTO t SELECT my_function(id) FROM s",
    // a function of the same name outside pg_catalog is not the built-in
    "SELECT public.lower(name) FROM t",
    // not plain DML
    "CREATE TABLE t2 AS SELECT * FROM t",
    "SELECT * INTO t2 FROM t",
    "TRUNCATE t",
    "VACUUM t",
    "CREATE INDEX CONCURRENTLY i ON t (id)",
    "CALL p()",
    "DO $$ BEGIN PERFORM 1; END $$",
    "COPY t FROM STDIN",
    "COMMIT",
    "SELECT query_to_xml('select 1', true, true, '')",
    // statement lists
    "INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)",
    "SELECT 1; COMMIT",
  ];
  for (const text of yes) test(`proven: ${text}`, () => expect(proven(text)).toBe(true));
  for (const text of no) test(`not proven: ${text}`, () => expect(proven(text)).toBe(false));
});

describe("callsOnlyVettedFunctions", () => {
  const vetted = (text: string) => callsOnlyVettedFunctions(classifier.classify(text).statements);
  const yes = [
    "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
    "SELECT lower('x')",
    "SELECT count(*) FROM t",
    "SELECT now()",
    "SELECT 1; SELECT 2",
    "SET application_name = 'x'",
    "BEGIN",
    "CREATE TABLE t2 (id int)",
  ];
  const no = [
    "SELECT nextval('s')",
    "SELECT setval('s', 5)",
    "SELECT pg_advisory_lock(1)",
    "SELECT pg_catalog.pg_advisory_xact_lock(1)",
    "SELECT dblink_exec('host=x', 'insert into r values (1)')",
    "SELECT my_insert_row()",
    "SELECT public.lower('x')",
    "SELECT lower('x'); SELECT nextval('s')",
    "SELECT * FROM t WHERE id = (SELECT nextval('s'))",
    "SELECT query_to_xml('select 1', true, true, '')",
    "SELECT pg_notify('c', 'x')",
    "SELECT set_config('a.b', 'c', false)",
    "COPY t TO '/tmp/x'",
    "",
  ];
  for (const text of yes) test(`vetted: ${text}`, () => expect(vetted(text)).toBe(true));
  for (const text of no) test(`not vetted: ${JSON.stringify(text)}`, () => expect(vetted(text)).toBe(false));
});
