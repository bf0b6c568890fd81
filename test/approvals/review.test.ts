// Statement review end to end: psql holds a write to a regulated table, an approver decides it through the
// CLI, and the first client gets its result, an error, or a timeout; approvals bind to one statement, its
// bind parameters and its session; the webhook is signed. Real PostgreSQL, real psql, the real CLI.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { verifySignature } from "../../src/approvals/webhook.ts";
import { openStore } from "../../src/audit/store.ts";
import { storeUrl } from "../../src/gateway.ts";
import { freePort } from "../support/free-port.ts";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import * as wire from "../support/raw-client.ts";
import { api, cli, gatewayFlag, pendingFor, type Receiver, startReceiver } from "./support.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let hook: Receiver;
let alice: string;
let bob: string;
let carol: string;
const SECRET = "webhook-signing-Secret-5e1d";
// Listening on a pod-like address, reached by approvers through this name: every link must say it.
const PUBLIC = "https://custos.bank.example/gw";

const count = (where: string) =>
  Number(db.sql(`SELECT count(*) FROM payments WHERE ${where}`, "ledger").trim());

beforeAll(async () => {
  [db, issuer, hook] = await Promise.all([startPostgres(), startOidcIssuer(), startReceiver()]);
  db.sql("CREATE TABLE payments (id int primary key, amount numeric)", "ledger");
  const secretFile = join(mkdtempSync(join(tmpdir(), "custos-hook-")), "secret");
  writeFileSync(secretFile, `${SECRET}\n`);
  gw = await startTestGateway({
    pg: db,
    issuer,
    connection: {
      table_labels: { "public.payments": ["regulated"] },
      approvers: ["approvers"],
      review_timeout: "8s", // long enough for three CLI processes on a loaded 2-core machine
    },
    config: {
      listen: {
        postgres: `127.0.0.1:${await freePort()}`,
        http: `127.0.0.1:${await freePort()}`,
        public_url: `${PUBLIC}/`,
      },
      approvals: { webhook: { url: hook.url, secret_file: secretFile } },
    },
  });
  // alice may approve in general, never her own statements.
  alice = await gw.token("alice@bank.example", ["dba", "approvers"]);
  bob = await gw.token("bob@bank.example", ["approvers"]);
  carol = await gw.token("carol@bank.example", ["dba"]);
});

afterAll(async () => {
  await gw?.stop();
  hook?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
});

describe("simple query (psql)", () => {
  test("held, approved through the CLI by another identity: psql gets its result as if nothing happened", async () => {
    const sql = "INSERT INTO payments VALUES (1, 100)";
    const run = psql(gw.url(alice), ["-c", sql]);
    const pending = await pendingFor(gw, bob, sql);
    expect(count("id = 1")).toBe(0); // held: nothing reached PostgreSQL yet
    expect(pending).toMatchObject({
      kind: "statement",
      status: "pending",
      connection: "ledger",
      requester: { subject: "alice@bank.example" },
      rule: "custos.regulated_write",
      statement: { text: sql, params: null, hash: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });

    // The requester cannot approve her own statement, although she is in an approver group.
    const self = await cli(["approve", pending.id, "--reason", "mine", "--token", alice, ...gatewayFlag(gw)]);
    expect(self.code).toBe(1);
    expect(self.stderr).toBe("custos: you cannot approve or deny your own request (approval.forbidden)\n");
    // Nor can someone outside the approver groups.
    const outsider = await cli([
      "approve",
      pending.id,
      "--reason",
      "x",
      "--token",
      carol,
      ...gatewayFlag(gw),
    ]);
    expect(outsider.stderr).toContain("only members of approvers may decide this request");

    const ok = await cli([
      "approve",
      pending.id,
      "--reason",
      "ticket CHG-1",
      "--token",
      bob,
      ...gatewayFlag(gw),
    ]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`request     ${pending.id} (statement) approved`);
    expect(ok.stdout).toContain("approve by bob@bank.example");

    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("INSERT 0 1");
    expect(r.stderr).toContain(`NOTICE:  statement held for approval: request ${pending.id}`);
    // The hint points at the public URL, not at the listen address.
    expect(r.stderr).toContain(`or POST ${PUBLIC}/api/approvals/${pending.id}/approve`);
    expect(r.stderr).not.toContain(`127.0.0.1:${gw.httpPort}`);
    expect(count("id = 1")).toBe(1);

    // A second approval of the same request is refused: it was decided (and used) already.
    const again = await api(gw, bob, "POST", `/approvals/${pending.id}/approve`, { reason: "x" });
    expect(again.status).toBe(409);
    expect(again.json.error.message).toBe(`request ${pending.id} is already approved`);
    expect((await api(gw, carol, "GET", `/approvals/${pending.id}`)).status).toBe(404); // not hers to see
    const shown = await api(gw, bob, "GET", `/approvals/${pending.id}`);
    expect(shown.json.consumed_at).toBeGreaterThan(0);
    expect(shown.json.decisions).toEqual([
      expect.objectContaining({ approver: "bob@bank.example", verdict: "approve", reason: "ticket CHG-1" }),
    ]);
  });

  test("denied: psql gets the reason, the row is not written, and the session stays usable", async () => {
    const client = postgres(gw.url(alice), { max: 1, onnotice: () => {} });
    try {
      const text = "INSERT INTO payments VALUES (2, 200)";
      const held = client.unsafe(text, [], { prepare: false }).catch((e) => e);
      const pending = await pendingFor(gw, bob, text);
      const denied = await cli([
        "deny",
        pending.id,
        "--reason",
        "not today",
        "--token",
        bob,
        ...gatewayFlag(gw),
      ]);
      expect(denied.code).toBe(0);
      const err = await held;
      expect(err).toBeInstanceOf(Error);
      expect(err.code).toBe("42501");
      expect(err.message).toBe(
        `approval denied: request ${pending.id} denied by bob@bank.example (not today)`,
      );
      expect(count("id = 2")).toBe(0);
      const [row] = await client`SELECT 41 + 1 AS answer`;
      expect(row?.answer).toBe(42);
    } finally {
      await client.end({ timeout: 1 });
    }
  });

  test("nobody decides within review_timeout: psql gets a timeout error", async () => {
    const sql = "INSERT INTO payments VALUES (3, 300)";
    const started = Date.now();
    const r = await psql(gw.url(alice), ["-c", sql]);
    const waited = Date.now() - started;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ERROR: {2}approval timed out: request [0-9a-f]{16} was not approved in time/);
    expect(waited).toBeGreaterThanOrEqual(7900);
    expect(waited).toBeLessThan(20_000);
    expect(count("id = 3")).toBe(0);
    const { json } = await api(gw, bob, "GET", "/approvals?status=expired");
    expect(json.requests.some((x: any) => x.statement?.text === sql)).toBe(true);
  });
});

describe("an approval binds to one statement, its parameters and its session", () => {
  test("other bind parameters, another text or another session each need their own approval", async () => {
    const text = "INSERT INTO payments VALUES ($1, $2)";
    const one = await wire.session(gw.port, alice, "bind-1");
    try {
      one.send(wire.parse("", text), wire.bind("", ["10", "1000"]), wire.execute(), wire.sync());
      const first = await pendingFor(gw, bob, text);
      expect(first.statement.params).toEqual(["10", "1000"]);
      await api(gw, bob, "POST", `/approvals/${first.id}/approve`, { reason: "ok" });
      const done = await one.untilReady();
      expect(done.find((m) => m.type === "N")?.fields?.M).toContain(`request ${first.id}`);
      expect(done.find((m) => m.type === "C")?.text).toBe("INSERT 0 1");
      expect(count("id = 10")).toBe(1);

      // Same statement, other values, same session: a new request with another hash; denying it refuses it.
      one.send(wire.bind("", ["11", "1100"]), wire.execute(), wire.sync());
      const second = await pendingFor(gw, bob, text);
      expect(second.id).not.toBe(first.id);
      expect(second.statement.params).toEqual(["11", "1100"]);
      expect(second.statement.hash).not.toBe(first.statement.hash);
      await api(gw, bob, "POST", `/approvals/${second.id}/deny`, { reason: "no" });
      const refused = await one.untilReady();
      expect(refused.find((m) => m.type === "E")?.fields?.M).toBe(
        `approval denied: request ${second.id} denied by bob@bank.example (no)`,
      );
      expect(count("id = 11")).toBe(0);
    } finally {
      one.quit();
    }

    // Another session sending the approved statement and values again is held anew.
    const two = await wire.session(gw.port, alice, "bind-2");
    try {
      two.send(wire.parse("", text), wire.bind("", ["10", "1000"]), wire.execute(), wire.sync());
      const third = await pendingFor(gw, bob, text);
      expect(third.session_id).not.toBe(null);
      const firstShown = (
        await api(gw, bob, "GET", "/approvals?status=approved&kind=statement")
      ).json.requests.find((r: any) => r.statement?.text === text);
      expect(third.session_id).not.toBe(firstShown.session_id);
      expect(third.statement.hash).toBe(firstShown.statement.hash);
      // The old approval cannot be moved onto it: deciding it again is a conflict.
      const replay = await api(gw, bob, "POST", `/approvals/${firstShown.id}/approve`, { reason: "again" });
      expect(replay.status).toBe(409);
      await api(gw, bob, "POST", `/approvals/${third.id}/deny`, { reason: "dup" });
      const refused = await two.untilReady();
      expect(refused.find((m) => m.type === "E")?.fields?.C).toBe("42501");
    } finally {
      two.quit();
    }
    expect(count("id = 10")).toBe(1);
  });
});

describe("evidence and notification", () => {
  test("requests and decisions are audit events tied to the session and the statement", async () => {
    const store = await openStore(storeUrl(gw.config));
    try {
      let types: string[] = [];
      const deadline = Date.now() + 5000;
      for (;;) {
        const [log] = await store.logs();
        const rows = await store.readEvents(log!.logId, 0, 100_000);
        types = rows.map((r) => r.type);
        if (types.filter((t) => t === "approval.approved").length >= 2 || Date.now() > deadline) break;
        await Bun.sleep(50);
      }
      for (const t of [
        "approval.requested",
        "approval.decision",
        "approval.approved",
        "approval.denied",
        "approval.expired",
        "approval.refused",
      ]) {
        expect(types).toContain(t);
      }
      const sessions = await store.listSessions({ limit: 100 });
      const held = sessions.find((s) => s.application === "bind-1")!;
      const events = await store.sessionEvents(held.id);
      const requested = events.find((e) => e.type === "approval.requested")!;
      expect(requested.data).toMatchObject({
        text: "INSERT INTO payments VALUES ($1, $2)",
        params: ["10", "1000"],
        statement_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      const decision = events.find((e) => e.type === "approval.decision")!;
      expect(decision.data).toMatchObject({ verdict: "approve", approver: "bob@bank.example", reason: "ok" });
      const statement = events.find((e) => e.type === "statement" && (e.data as any).tag === "INSERT 0 1")!;
      expect(statement.data).toMatchObject({ action: "allow", approval: { status: "approved" } });
    } finally {
      await store.close();
    }
  });

  test("the webhook receives Slack-compatible messages signed with HMAC-SHA256", async () => {
    const deadline = Date.now() + 5000;
    while (hook.received.length < 3 && Date.now() < deadline) await Bun.sleep(50);
    expect(hook.received.length).toBeGreaterThanOrEqual(3);
    for (const { headers, body } of hook.received) {
      const sig = {
        signature: headers.get("x-custos-signature"),
        timestamp: headers.get("x-custos-timestamp"),
      };
      expect(sig.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(verifySignature(SECRET, sig, body)).toBe(true);
      // A changed body, another secret or an old timestamp do not verify.
      expect(verifySignature(SECRET, sig, `${body} `)).toBe(false);
      expect(verifySignature("other", sig, body)).toBe(false);
      expect(verifySignature(SECRET, sig, body, 300, Date.now() + 3_600_000)).toBe(false);
      const msg = JSON.parse(body);
      expect(typeof msg.text).toBe("string");
      expect(Array.isArray(msg.blocks)).toBe(true);
      expect(msg.custos.request_id).toMatch(/^[0-9a-f]{16}$/);
      expect(msg.custos.url).toBe(`${PUBLIC}/api/approvals/${msg.custos.request_id}`);
      expect(body).not.toContain(`127.0.0.1:${gw.httpPort}`);
      expect(body).not.toContain(SECRET);
    }
    const events = hook.received.map((r) => JSON.parse(r.body).custos.event);
    expect(events).toContain("request.created");
    expect(events).toContain("request.approved");
    expect(events).toContain("request.denied");
    // A pending request's message tells the approver where to act.
    const created = JSON.parse(hook.received.find((r) => r.body.includes('"request.created"'))!.body);
    const text = created.blocks[1].text.text as string;
    expect(text).toContain(`or POST ${PUBLIC}/api/approvals/${created.custos.request_id}/approve`);
    expect(text).toContain(`Inbox: ${PUBLIC}/console/approvals`);
  });

  test("a failing receiver gets the message again after a backoff", async () => {
    const before = hook.received.length;
    hook.failNext(1);
    const sql = "INSERT INTO payments VALUES (4, 400)";
    const run = psql(gw.url(alice), ["-c", sql]);
    const pending = await pendingFor(gw, bob, sql);
    const deadline = Date.now() + 5000;
    while (!hook.received.slice(before).some((r) => r.body.includes(pending.id)) && Date.now() < deadline)
      await Bun.sleep(50);
    expect(hook.received.slice(before).some((r) => r.body.includes(pending.id))).toBe(true);
    await api(gw, bob, "POST", `/approvals/${pending.id}/approve`, { reason: "ok" });
    expect((await run).code).toBe(0);
  });
});

describe("API input", () => {
  test("no token, a bad token, an unknown id, bad JSON and a missing reason get clear errors", async () => {
    const base = `http://127.0.0.1:${gw.httpPort}/api`;
    const none = await fetch(`${base}/approvals`);
    expect(none.status).toBe(401);
    expect((await none.json()).error.code).toBe("identity.missing");
    const bad = await fetch(`${base}/approvals`, { headers: { authorization: "Bearer not-a-token" } });
    expect(bad.status).toBe(401);
    expect((await bad.json()).error.code).toBe("identity.malformed");
    expect((await api(gw, bob, "GET", "/approvals/ffffffffffffffff")).status).toBe(404);
    const junk = await fetch(`${base}/approvals/ffffffffffffffff/approve`, {
      method: "POST",
      headers: { authorization: `Bearer ${bob}` },
      body: "{not json",
    });
    expect(junk.status).toBe(400);
    expect((await junk.json()).error.message).toBe("expected a JSON object body");
    const { json } = await api(gw, bob, "GET", "/approvals?status=weird");
    expect(json.error).toEqual({ code: "approval.invalid", message: 'unknown status "weird"' });
    const noReason = await cli(["approve", "abc", "--token", bob, ...gatewayFlag(gw)]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toBe("custos: approve needs --reason TEXT\n");
    const noToken = await cli(["deny", "abc", "--reason", "x", ...gatewayFlag(gw)]);
    expect(noToken.stderr).toBe("custos: needs --token T (or CUSTOS_TOKEN)\n");
    const unreachable = await cli([
      "approve",
      "abc",
      "--reason",
      "x",
      "--token",
      bob,
      "--gateway",
      "http://127.0.0.1:1",
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toStartWith("custos: cannot reach the gateway at http://127.0.0.1:1");
  });
});
