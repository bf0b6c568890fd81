// Views that cannot lie, for approvals: a statement held for review and approved through the API by a real
// gateway; then the approval tables are edited straight in the store ("approved by CFO", status flipped):
// `custos audit verify` names the row and column, and the console's approvals page flags the row.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONSOLE_ROLES } from "../api/support.ts";
import { api, cli, pendingFor } from "../approvals/support.ts";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let configFile: string;

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  db.sql("CREATE TABLE payments (id int primary key, amount numeric)", "ledger");
  gw = await startTestGateway({
    pg: db,
    issuer,
    connection: {
      table_labels: { "public.payments": ["regulated"] },
      approvers: ["approvers"],
      review_timeout: "10s",
    },
    config: { console: CONSOLE_ROLES },
  });
  configFile = join(gw.dataDir, "..", `${gw.gw.logId}.yaml`);
  writeFileSync(configFile, `data_dir: ${JSON.stringify(gw.dataDir)}\n`);
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
}, 60_000);

test("an approval edited in the store is named by verify and flagged in the console", async () => {
  const alice = await gw.token("alice@bank.example", ["dba"]);
  const bob = await gw.token("bob@bank.example", ["approvers"]);
  const auditor = await gw.token("ann@bank.example", ["auditors"]);
  const sql = "INSERT INTO payments VALUES (1, 100)";
  const run = psql(gw.url(alice), ["-c", sql]);
  const pending = await pendingFor(gw, bob, sql);
  const decided = await api(gw, bob, "POST", `/approvals/${pending.id}/approve`, {
    reason: "month end, checked",
  });
  expect(decided.status).toBe(200);
  expect((await run).code).toBe(0);
  await Bun.sleep(300); // the decision events reach the log
  const clean = await cli(["audit", "verify", "--config", configFile]);
  expect(clean.stdout).toMatch(
    /ok {2}\s*views: \d+ sessions \(0 differ from the log\), 1 approval requests \(0 differ/,
  );
  expect(clean.code).toBe(0);

  const store = new Database(join(gw.dataDir, "audit.db"));
  try {
    store
      .query("UPDATE approval_decisions SET reason = 'approved by CFO' WHERE request_id = ?")
      .run(pending.id);
    const v = await cli(["audit", "verify", "--config", configFile]);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(`FAIL  approval_requests ${pending.id}: decision bob@bank.example: reason`);
    store
      .query("UPDATE approval_decisions SET approver_subject = 'cfo@bank.example' WHERE request_id = ?")
      .run(pending.id);
    const w = await cli(["audit", "verify", "--config", configFile, "--json"]);
    const fields = (
      JSON.parse(w.stdout) as { projections: { rows: { id: string; fields: string[] }[] } }
    ).projections.rows.find((r) => r.id === pending.id)?.fields;
    expect(fields).toEqual([
      "decision bob@bank.example: (decision row missing)",
      "decision cfo@bank.example: (not in the log)",
    ]);
    // The console's integrity check runs verify; the approvals page then flags the row.
    const fresh = await fetch(`http://127.0.0.1:${gw.httpPort}/api/audit/verify`, {
      method: "POST",
      headers: { authorization: `Bearer ${auditor}` },
    });
    expect(fresh.status).toBe(200);
    const page = await (
      await fetch(`http://127.0.0.1:${gw.httpPort}/console/approvals`, {
        headers: { authorization: `Bearer ${auditor}` },
      })
    ).text();
    expect(page).toContain("differs from log: decision bob@bank.example: (decision row missing)");
    const panel = await (
      await fetch(`http://127.0.0.1:${gw.httpPort}/console/audit`, {
        headers: { authorization: `Bearer ${auditor}` },
      })
    ).text();
    expect(panel).toContain("1 differ from the log");
    expect(panel).toContain(`approval_requests <code>${pending.id}</code>`);
  } finally {
    store.close();
  }
}, 60_000);
