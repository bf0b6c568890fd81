// A statement still running (or held for review) when its session ends is recorded with its decision and
// the outcome `interrupted`, before session.end, and the replay shows it. Judged by effect: the query is
// seen running in the real PostgreSQL (pg_stat_activity), the session is ended from outside (the client
// killed, the gateway drained), and the audit store and the replay API are read afterwards.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type StoredEvent } from "../../src/audit/store.ts";
import type { Identity } from "../../src/core/identity.ts";
import { adminHarness, CONSOLE_ROLES } from "../api/support.ts";
import { allEvents, waitForEvent, withStore } from "../support/audit-read.ts";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  db.sql("CREATE TABLE accounts (id int primary key, balance int)", "ledger");
  db.sql("INSERT INTO accounts VALUES (1, 100)", "ledger");
  gw = await startTestGateway({
    pg: db,
    issuer,
    connection: { approvers: ["approvers"], review_timeout: "60s" },
    config: { console: CONSOLE_ROLES },
  });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

/** A psql left running with `sql`; the caller ends it. */
function startPsql(url: string, sql: string) {
  return Bun.spawn(["psql", "-X", url, "-c", sql], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "ignore",
    env: { ...process.env, PGCONNECT_TIMEOUT: "10" },
  });
}

/** Backends running this text, read from PostgreSQL itself (not from the gateway). */
const running = (marker: string) =>
  Number(
    db
      .sql(
        `SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%${marker}%' AND pid <> pg_backend_pid()`,
      )
      .trim(),
  );

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** The session's events, once its session.end is recorded. */
async function sessionOf(t: TestGateway, text: string): Promise<StoredEvent[]> {
  const stmt = await waitForEvent(t, (e) => e.type === "statement" && e.data.text === text, 15_000);
  await waitForEvent(t, (e) => e.type === "session.end" && e.sessionId === stmt.sessionId, 15_000);
  return withStore(t, async (s) => (await allEvents(s)).filter((e) => e.sessionId === stmt.sessionId));
}

describe("a statement interrupted by its session's end", () => {
  test("the client vanishes during pg_sleep: the statement is recorded allowed and interrupted, then replayed", async () => {
    const sql = "select pg_sleep(30) as vanish_marker";
    const proc = startPsql(gw.url(await gw.token("dana", ["dba"])), sql);
    await until("pg_sleep to run upstream", () => running("vanish_marker") === 1);
    proc.kill(9);
    const events = await sessionOf(gw, sql);
    const stmt = events.find((e) => e.type === "statement")!;
    const end = events.find((e) => e.type === "session.end")!;
    expect(stmt.data).toMatchObject({
      action: "allow",
      outcome: "interrupted",
      interrupted_by: "client",
      error: { code: "interrupted" },
      tag: null,
    });
    expect(stmt.data.rule).toBeTruthy();
    expect(stmt.data.duration_us as number).toBeGreaterThan(0);
    // Recorded before the session's end, which counts it.
    expect(stmt.seq).toBeLessThan(end.seq);
    expect(end.data.commands).toBe(1);
    // The statement was cancelled upstream: nothing keeps running in PostgreSQL without its session.
    await until("the upstream backend to end", () => running("vanish_marker") === 0, 5_000);
    expect(events.some((e) => e.type === "cancel")).toBe(true);
    // The replay shows it, not only the raw frames.
    const h = await adminHarness(gw);
    try {
      const admin = await h.gatewayToken("root-admin", ["custos-admins"]);
      const r = await h.call(`/api/sessions/${stmt.sessionId}/replay`, admin);
      expect(r.status).toBe(200);
      const { steps } = (await r.json()) as { steps: Record<string, unknown>[] };
      expect(steps).toHaveLength(1);
      expect(steps[0]).toMatchObject({
        text: sql,
        action: "allow",
        outcome: "interrupted",
        interruptedBy: "client",
      });
      expect(String(steps[0]!.error)).toContain("interrupted");
    } finally {
      await h.close();
    }
  });

  test("a bounded write held for review when the client vanishes: recorded as review, interrupted", async () => {
    const sql = "update accounts set balance = 0 where id = 1";
    const proc = startPsql(gw.url(await gw.token("agent-held", ["agents"])), sql);
    await waitForEvent(gw, (e) => e.type === "approval.requested", 15_000);
    proc.kill(9);
    const events = await sessionOf(gw, sql);
    const stmts = events.filter((e) => e.type === "statement");
    expect(stmts).toHaveLength(1);
    expect(stmts[0]!.data).toMatchObject({
      action: "review",
      outcome: "interrupted",
      interrupted_by: "client",
      rule: "custos.agent_write_review",
    });
    // Nothing was written.
    expect(db.sql("SELECT balance FROM accounts WHERE id = 1", "ledger").trim()).toBe("100");
    // The abandoned review resolving later adds no second statement event.
    await Bun.sleep(300);
    const again = await withStore(gw, async (s) =>
      (await allEvents(s)).filter((e) => e.type === "statement" && e.sessionId === stmts[0]!.sessionId),
    );
    expect(again).toHaveLength(1);
  });

  test("a plain read that completes is not marked interrupted", async () => {
    const sql = "select 7 as completed_marker";
    const proc = startPsql(gw.url(await gw.token("dana", ["dba"])), sql);
    await proc.exited;
    const events = await sessionOf(gw, sql);
    const stmt = events.find((e) => e.type === "statement")!;
    expect(stmt.data.outcome).toBeUndefined();
    expect(stmt.data.tag).toBe("SELECT 1");
  });

  test("a revoked access grant ends the session during pg_sleep: interrupted by access.grant_revoked", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "custos-revoke-"));
    const g = await startTestGateway({
      pg: db,
      issuer,
      dataDir,
      connection: { access: "request", approvers: ["approvers"], max_duration: "1h" },
    });
    try {
      const who = (subject: string, groups: string[]): Identity => ({
        subject,
        issuer: issuer.issuer,
        groups,
        kind: "human",
        method: "oidc",
        expiresAt: Date.now() + 600_000,
        context: {},
      });
      const erin = who("erin", ["dba"]);
      const filed = await g.gw.approvals.requestAccess(erin, "ledger", 600_000, "incident 9");
      await g.gw.approvals.decide(filed.id, who("olga", ["approvers"]), "approve", "on call");
      const sql = "select pg_sleep(30) as revoke_marker";
      const proc = startPsql(g.url(await g.token("erin", ["dba"])), sql);
      await until("pg_sleep to run upstream", () => running("revoke_marker") === 1);
      await g.gw.approvals.decide(filed.id, erin, "revoke", "done");
      await proc.exited;
      const events = await sessionOf(g, sql);
      const stmt = events.find((e) => e.type === "statement")!;
      const end = events.find((e) => e.type === "session.end")!;
      expect(end.data.reason).toBe("access.grant_revoked");
      expect(stmt.data).toMatchObject({
        action: "allow",
        outcome: "interrupted",
        interrupted_by: "access.grant_revoked",
      });
      expect(stmt.seq).toBeLessThan(end.seq);
      await until("the upstream backend to end", () => running("revoke_marker") === 0, 5_000);
    } finally {
      await g.stop();
    }
  }, 60_000);

  test("the gateway drains during pg_sleep: psql is told, and the statement is recorded interrupted by the shutdown", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "custos-drain-"));
    const drained = await startTestGateway({ pg: db, issuer, dataDir });
    try {
      const sql = "select pg_sleep(30) as drain_marker";
      const proc = Bun.spawn(["psql", "-X", drained.url(await drained.token("dana", ["dba"])), "-c", sql], {
        stdin: "ignore",
        stdout: "ignore",
        stderr: "pipe",
        env: { ...process.env, PGCONNECT_TIMEOUT: "10" },
      });
      await until("pg_sleep to run upstream", () => running("drain_marker") === 1);
      await drained.stop();
      await proc.exited;
      expect(await new Response(proc.stderr).text()).toContain("the gateway is shutting down");
      const store = await openStore(`sqlite:${dataDir}/audit.db`);
      try {
        const events = await allEvents(store);
        const stmt = events.find((e) => e.type === "statement" && e.data.text === sql)!;
        const end = events.find((e) => e.type === "session.end" && e.sessionId === stmt.sessionId)!;
        expect(stmt.data).toMatchObject({ action: "allow", outcome: "interrupted" });
        // A drain, not a dropped socket: the session ends as a shutdown, and psql was told why.
        expect(end.data.reason).toBe("shutdown");
        expect(stmt.data.interrupted_by).toBe("shutdown");
        expect(stmt.seq).toBeLessThan(end.seq);
      } finally {
        await store.close();
      }
      await until("the upstream backend to end", () => running("drain_marker") === 0, 5_000);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
