// The bypass corpus (test/policy/bypass-corpus.ts) sent through the live gateway as an agent, over the simple
// and the extended protocol: every attempt is refused with 42501, none of its text reaches PostgreSQL (its
// statement log says so), and the database, its roles, grants, large objects and files are unchanged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BYPASS_CORPUS } from "../policy/bypass-corpus.ts";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import * as wire from "../support/raw-client.ts";
import { auditReader } from "./support.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let token: string;

const STATE_SQL = `SELECT concat_ws(' | ',
  (SELECT md5(string_agg(a::text, ',' ORDER BY id)) FROM accounts a),
  (SELECT string_agg(relname || ':' || coalesce(array_to_string(relacl, ';'), ''), ',' ORDER BY relname)
     FROM pg_class WHERE relnamespace = 'public'::regnamespace),
  (SELECT string_agg(rolname || rolsuper::text, ',' ORDER BY rolname) FROM pg_roles),
  (SELECT count(*) FROM pg_largeobject_metadata),
  (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace),
  (SELECT string_agg(pg_get_userbyid(member)::text, ',') FROM pg_auth_members))`;
const state = () => db.sql(STATE_SQL, "ledger").trim();
// What reached the server from clients: the gateway's catalog connection plans (never executes) agents'
// statements to resolve them, so its lines are not a client's statement reaching the server.
const serverLog = () =>
  readFileSync(join(db.dataDir, "log"), "utf8")
    .split("\n")
    .filter((line) => !line.includes("[custos-catalog]"))
    .join("\n");
// Paths the corpus asks the server to write: named so that nothing else on the machine holds them.
const FILES = ["/tmp/custos-bypass-accounts.csv", "/tmp/custos-bypass-lo-export"];

beforeAll(async () => {
  [db, issuer] = await Promise.all([
    startPostgres({ settings: { log_statement: "all", log_line_prefix: "%m [%p] [%a] " } }),
    startOidcIssuer(),
  ]);
  for (const f of FILES) rmSync(f, { force: true });
  db.sql("CREATE TABLE accounts (id int primary key, owner text, balance numeric, x int)", "ledger");
  db.sql("INSERT INTO accounts SELECT g, 'owner ' || g, g * 10, 0 FROM generate_series(1, 20) g", "ledger");
  db.sql("CREATE TABLE audit (id int); CREATE TABLE src (id int); CREATE TABLE t (id int)", "ledger");
  db.sql("CREATE ROLE agent; CREATE ROLE auditor; GRANT SELECT ON accounts TO auditor", "ledger");
  gw = await startTestGateway({ pg: db, issuer });
  token = await gw.token("agent-7", ["agents"]);
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

function expectRefused(out: wire.ReadMessage[], trick: string): void {
  // Nothing but the refusal: no row, no command tag, and the extended pipeline skipped up to Sync.
  // An EXECUTE of a statement the gateway has no decided object for is refused with the server's own
  // SQLSTATE for an unknown name (26000), still as a policy refusal.
  const code = out[0]?.fields?.C === "26000" ? "42501" : out[0]?.fields?.C;
  expect({ trick, kinds: out.map((m) => m.type), code }).toEqual({
    trick,
    kinds: ["E", "Z"],
    code: "42501",
  });
  expect(out[0]?.fields?.M).toMatch(/^permission denied by policy: .* \(rule custos\.[a-z_]+\)$/);
}

describe("bypass corpus through the gateway", () => {
  test(`all ${BYPASS_CORPUS.length} attempts are refused over the simple and the extended protocol`, async () => {
    const before = state();
    expect(before.split(" | ")).toHaveLength(6);
    const client = await wire.session(gw.port, token, "bypass");
    try {
      for (const { sql, trick } of BYPASS_CORPUS) {
        client.send(wire.query(sql));
        expectRefused(await client.untilReady(), `simple: ${trick}`);
        client.send(wire.parse("", sql), wire.bind(""), wire.execute(), wire.sync());
        expectRefused(await client.untilReady(), `extended: ${trick}`);
      }
      // Still usable, and still reading as the upstream role Custos logs in as.
      client.send(wire.query("SELECT current_user"));
      expect((await client.untilReady()).map((m) => m.type)).toEqual(["T", "D", "C", "Z"]);
    } finally {
      client.quit();
    }
    expect(state()).toBe(before);
    for (const f of FILES) expect(existsSync(f)).toBe(false);
    const log = serverLog();
    const leaked = BYPASS_CORPUS.filter(({ sql }) => log.includes(sql)).map((a) => a.trick);
    expect(leaked).toEqual([]);
    expect(log).toContain("custos_refused_statement");
    // Every refusal is in the audit log, with the rule that decided it.
    const audit = await auditReader(gw);
    try {
      const events = await audit.statements("bypass", BYPASS_CORPUS.length * 2 + 1);
      const denied = events.filter((e) => e.action === "deny" && String(e.rule).startsWith("custos."));
      expect(denied).toHaveLength(BYPASS_CORPUS.length * 2);
    } finally {
      await audit.close();
    }
  });
});
