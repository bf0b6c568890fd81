// Two gateways sharing one PostgreSQL audit store: just-in-time access grants (min_approvals 2, expiry
// closing the session), a statement held on one gateway released by approvals made through the other
// (LISTEN/NOTIFY), and a gateway restart abandoning what it held.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { openApprovalRepository } from "../../src/approvals/repository.ts";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { api, cli, gatewayFlag, pendingFor } from "./support.ts";

let db: PgServer;
let issuer: OidcIssuer;
let a: TestGateway;
let b: TestGateway;
let storeUrl: string;
let alice: string;
let bob: string;
let dave: string;

const connection = {
  access: "request",
  approvers: ["approvers"],
  min_approvals: 2,
  max_duration: "1h",
  review_timeout: "20s",
  table_labels: { "public.payments": ["regulated"] },
};
// Approval changes reach the other gateway by NOTIFY alone: the polling fallback is set past any test's length.
const start = (dataDir?: string) =>
  startTestGateway({ pg: db, issuer, storeUrl, connection, dataDir, approvalsPollMs: 600_000 });

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  db.sql("CREATE DATABASE audit");
  db.sql("CREATE TABLE payments (id int primary key, amount numeric)", "ledger");
  storeUrl = db.url(db.roles.scram, "audit");
  a = await start();
  b = await start();
  alice = await a.token("alice@bank.example", ["dba"]);
  bob = await a.token("bob@bank.example", ["approvers"]);
  dave = await a.token("dave@bank.example", ["approvers"]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await Promise.all([db?.stop(), issuer?.stop()]);
});

/** Files an access request through gateway `via` and has bob and dave approve it through `b`. */
async function grant(via: TestGateway, duration: string): Promise<string> {
  const filed = await cli([
    "access",
    "request",
    "--connection",
    "ledger",
    "--duration",
    duration,
    "--reason",
    "incident 7",
    "--token",
    alice,
    ...gatewayFlag(via),
  ]);
  expect(filed.stderr).toBe("");
  const id = filed.stdout.trim();
  expect(id).toMatch(/^[0-9a-f]{16}$/);
  expect((await api(b, bob, "POST", `/approvals/${id}/approve`, { reason: "on call" })).json.status).toBe(
    "pending",
  );
  expect((await api(b, dave, "POST", `/approvals/${id}/approve`, { reason: "ok" })).json.status).toBe(
    "approved",
  );
  return id;
}

describe("just-in-time access", () => {
  test("refused without a grant; min_approvals 2 distinct approvers; the grant's end closes the session", async () => {
    const refused = await psql(a.url(alice), ["-c", "SELECT 1"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('connection "ledger" needs an approved access request');

    const tooLong = await cli([
      "access",
      "request",
      "--connection",
      "ledger",
      "--duration",
      "2h",
      "--reason",
      "x",
      "--token",
      alice,
      ...gatewayFlag(a),
    ]);
    expect(tooLong.stderr).toBe(
      "custos: duration must be more than 0 and at most 1h (max_duration) (approval.invalid)\n",
    );

    const filed = await cli([
      "access",
      "request",
      "--connection",
      "ledger",
      "--duration",
      "3s",
      "--reason",
      "incident 7",
      "--token",
      alice,
      ...gatewayFlag(a),
    ]);
    const id = filed.stdout.trim();
    expect((await api(b, bob, "POST", `/approvals/${id}/approve`, { reason: "on call" })).json.status).toBe(
      "pending",
    );
    // The same approver twice does not make two approvals.
    const twice = await api(a, bob, "POST", `/approvals/${id}/approve`, { reason: "again" });
    expect(twice.status).toBe(409);
    expect((await psql(a.url(alice), ["-c", "SELECT 1"])).code).not.toBe(0);
    const self = await api(a, alice, "POST", `/approvals/${id}/approve`, { reason: "me" });
    expect(self.status).toBe(403);
    const ok = await cli(["approve", id, "--reason", "ok", "--token", dave, ...gatewayFlag(a)]);
    expect(ok.stdout).toContain("approved");

    const client = postgres(a.url(alice), { max: 1, onnotice: () => {} });
    const [row] = await client`SELECT 7 AS n`;
    expect(row?.n).toBe(7);
    await Bun.sleep(3500);
    const err = await client`SELECT 8 AS n`.catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    await client.end({ timeout: 1 });
    const after = await psql(a.url(alice), ["-c", "SELECT 1"]);
    expect(after.stderr).toContain("needs an approved access request");

    const list = await cli([
      "access",
      "list",
      "--kind",
      "access",
      "--token",
      alice,
      ...gatewayFlag(b),
      "--json",
    ]);
    const shown = (JSON.parse(list.stdout) as any[]).find((r) => r.id === id);
    expect(shown.status).toBe("expired");
    expect(shown.decisions.map((d: any) => d.approver)).toEqual(["bob@bank.example", "dave@bank.example"]);
  }, 30_000);

  test("an open session gets FATAL 57P01 'access grant expired'", async () => {
    await grant(a, "2s");
    const proc = Bun.spawn(["psql", "-X", a.url(alice), "-c", "SELECT pg_sleep(4)"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const stderr = await new Response(proc.stderr).text();
    await proc.exited;
    expect(stderr).toContain("FATAL:  access grant expired: the session is closed");
  }, 20_000);

  test("a revoked grant closes its sessions at once, also on the other gateway", async () => {
    const id = await grant(a, "10m");
    const client = postgres(a.url(alice), { max: 1, onnotice: () => {} });
    await client`SELECT 1`;
    const revoked = await cli([
      "access",
      "revoke",
      id,
      "--reason",
      "done",
      "--token",
      bob,
      ...gatewayFlag(b),
    ]);
    expect(revoked.stdout).toContain("revoked");
    const deadline = Date.now() + 5000;
    let err: unknown;
    while (Date.now() < deadline) {
      err = await client`SELECT 1`.then(
        () => undefined,
        (e) => e,
      );
      if (err) break;
      await Bun.sleep(100);
    }
    expect(err).toBeInstanceOf(Error);
    await client.end({ timeout: 1 });
  }, 20_000);
});

describe("statements held on one gateway, approved through the other", () => {
  test("approvals made through gateway B release the statement waiting on gateway A", async () => {
    await grant(b, "10m");
    const sql = "INSERT INTO payments VALUES (1, 100)";
    const run = psql(a.url(alice), ["-c", sql]);
    const pending = await pendingFor(b, bob, sql);
    await cli(["approve", pending.id, "--reason", "first", "--token", bob, ...gatewayFlag(b)]);
    await Bun.sleep(200);
    expect(Number(db.sql("SELECT count(*) FROM payments WHERE id = 1", "ledger").trim())).toBe(0);
    await cli(["approve", pending.id, "--reason", "second", "--token", dave, ...gatewayFlag(b)]);
    // Heard by NOTIFY: these gateways poll only every 10 minutes, longer than this test may run.
    const r = await run;
    expect(r.stdout.trim()).toBe("INSERT 0 1");
  }, 30_000);

  test("a gateway restart abandons what it held: the client gets an error, the request is marked", async () => {
    const sql = "INSERT INTO payments VALUES (2, 200)";
    const run = psql(a.url(alice), ["-c", sql]);
    const pending = await pendingFor(b, bob, sql);
    const dataDir = a.dataDir;
    const logId = a.gw.logId;
    await a.gw.stop();
    const r = await run;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/FATAL|server closed the connection|terminating/);
    const shown = await api(b, bob, "GET", `/approvals/${pending.id}`);
    expect(shown.json.status).toBe("abandoned");

    // A crash leaves a pending row behind: the restarted instance abandons it on startup.
    const repo = await openApprovalRepository(storeUrl);
    const orphan = {
      ...(await repo.get(pending.id))!,
      id: "0123456789abcdef",
      status: "pending",
      decidedAt: null,
      endedReason: null,
    };
    const { decisions: _d, ...row } = orphan;
    await repo.create(row);
    a = await start(dataDir);
    expect(a.gw.logId).toBe(logId);
    expect((await repo.get("0123456789abcdef"))?.status).toBe("abandoned");
    expect((await repo.get("0123456789abcdef"))?.endedReason).toBe("gateway restarted");
    await repo.close();
  }, 30_000);
});
