// The admin API through app.request(), over a real gateway in front of a real PostgreSQL with sessions made by
// psql: authentication and roles, filters and cursors, transcripts, frames and replay (each read audited),
// audit status, policy, and connections that never show a credential.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { waitForEvent } from "../support/audit-read.ts";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { type AdminHarness, adminHarness, CONSOLE_ROLES } from "./support.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let h: AdminHarness;
let auditor: string;
let admin: string;

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  gw = await startTestGateway({ pg: db, issuer, config: { console: CONSOLE_ROLES } });
  h = await adminHarness(gw);
  auditor = await issuer.mint({
    iss: issuer.issuer,
    sub: "alice-auditor",
    aud: "custos",
    groups: ["auditors"],
  });
  admin = await h.gatewayToken("root-admin", ["custos-admins"]);
  // Three sessions by two subjects; one ends in an error statement.
  for (const [sub, sql] of [
    ["agent-a", "select 1 as one;"],
    ["agent-b", "select n, 'row ' || n as label from generate_series(1, 3) as g(n);"],
    ["agent-a", "select 1/0;"],
  ] as const) {
    // dba, not agents: the default pack forbids agents computing over columns (every column is masked for them).
    const r = await psql(gw.url(await gw.token(sub, ["dba"])), ["-c", sql]);
    if (sql !== "select 1/0;") expect(`${r.code} ${r.stderr}`).toBe("0 ");
  }
  await waitForEvent(gw, (e) => e.type === "session.end" && e.data.commands !== undefined, 5_000).catch(
    () => {},
  );
  await gw.gw.recorder.durable();
}, 60_000);

afterAll(async () => {
  await h?.close();
  await gw?.stop();
  await Promise.all([issuer?.stop(), db?.stop()]);
});

const body = async (r: Response) => (await r.json()) as Record<string, any>;

describe("authentication and roles", () => {
  const routes = [
    "/api/me",
    "/api/sessions",
    "/api/sessions/x",
    "/api/sessions/x/transcript",
    "/api/sessions/x/frames",
    "/api/sessions/x/replay",
    "/api/audit/status",
    "/api/policy",
    "/api/connections",
  ];

  test("every route but the OpenAPI document answers 401 without credentials", async () => {
    for (const path of routes) {
      const r = await h.call(path, null);
      expect(r.status, path).toBe(401);
      expect(r.headers.get("www-authenticate")).toContain("Bearer");
      expect((await body(r)).error.code).toBe("identity.missing");
    }
    expect((await h.call("/api/audit/verify", null, { method: "POST" })).status).toBe(401);
    expect((await h.call("/api/openapi.json", null)).status).toBe(200);
  });

  test("a malformed header, a forged token and an alg:none token are 401 with the reason", async () => {
    const malformed = await h.app.request("http://gw.test/api/sessions", {
      headers: { authorization: "Basic abc" },
    });
    expect(malformed.status).toBe(401);
    expect((await body(malformed)).error.message).toContain("Bearer");
    const forged = await issuer.mint(
      { iss: issuer.issuer, sub: "mallory", aud: "custos", groups: ["auditors"] },
      { key: "foreign" },
    );
    expect((await h.call("/api/sessions", forged)).status).toBe(401);
    const none = issuer.mintUnsigned({
      iss: issuer.issuer,
      sub: "mallory",
      aud: "custos",
      groups: ["custos-admins"],
    });
    const r = await h.call("/api/sessions", none);
    expect(r.status).toBe(401);
    expect((await body(r)).error.code).toBe("identity.algorithm");
  });

  test("a valid token without a console role is 403", async () => {
    const agent = await gw.token("agent-a", ["agents"]);
    const r = await h.call("/api/sessions", agent);
    expect(r.status).toBe(403);
    expect((await body(r)).error.code).toBe("access.forbidden");
  });

  test("an approver-only identity cannot read recordings", async () => {
    const approver = await h.gatewayToken("bob-approver", ["approvers"]);
    expect((await h.call("/api/sessions", approver)).status).toBe(403);
    expect((await body(await h.call("/api/me", approver))).roles).toEqual(["approver"]);
  });

  test("/api/me names the caller and its roles", async () => {
    const me = await body(await h.call("/api/me", auditor));
    expect(me).toMatchObject({ subject: "alice-auditor", roles: ["auditor"], via: "bearer" });
  });
});

describe("sessions", () => {
  test("lists psql's sessions newest first with subject, connection and outcome", async () => {
    const r = await body(await h.call("/api/sessions", auditor));
    const subjects = r.items.map((s: any) => s.subject);
    expect(subjects.slice(0, 3)).toEqual(["agent-a", "agent-b", "agent-a"]);
    expect(r.items[0]).toMatchObject({ connection: "ledger", application: "psql", outcome: "client" });
    expect(r.next_cursor).toBeNull();
  });

  test("filters by subject, connection, time range and outcome", async () => {
    const a = await body(await h.call("/api/sessions?subject=agent-a", auditor));
    expect(a.items.length).toBe(2);
    expect((await body(await h.call("/api/sessions?connection=nope", auditor))).items).toEqual([]);
    expect((await body(await h.call("/api/sessions?outcome=open", auditor))).items).toEqual([]);
    expect((await body(await h.call("/api/sessions?outcome=client", auditor))).items.length).toBe(3);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await body(await h.call(`/api/sessions?from=${future}`, auditor))).items).toEqual([]);
    expect((await body(await h.call(`/api/sessions?to=${future}`, auditor))).items.length).toBe(3);
    expect((await body(await h.call("/api/sessions?to=1000", auditor))).items).toEqual([]);
  });

  test("cursor pagination walks every session once", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const q: string = cursor ? `&cursor=${cursor}` : "";
      const page = await body(await h.call(`/api/sessions?limit=1${q}`, auditor));
      seen.push(...page.items.map((s: any) => s.id));
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    expect(seen.length).toBe(3);
    expect(new Set(seen).size).toBe(3);
  });

  test("bad queries get a 400 naming the problem", async () => {
    for (const [q, text] of [
      ["outcome=won", "outcome must be one of"],
      ["limit=0", "limit must be"],
      ["limit=abc", "limit must be"],
      ["limit=501", "limit must be"],
      ["from=yesterday", "from must be"],
      ["cursor=%%%", "cursor"],
      [`cursor=${Buffer.from('{"t":"x"}').toString("base64url")}`, "cursor"],
    ] as const) {
      const r = await h.call(`/api/sessions?${q}`, auditor);
      expect(r.status, q).toBe(400);
      expect((await body(r)).error.message, q).toContain(text);
    }
  });

  test("an unknown session is 404", async () => {
    for (const p of ["", "/transcript", "/frames", "/replay"]) {
      expect((await h.call(`/api/sessions/nope${p}`, auditor)).status).toBe(404);
    }
  });

  test("transcript, frames and replay show the statements and rows, and each read is audited", async () => {
    const list = await body(await h.call("/api/sessions?subject=agent-b", auditor));
    const id = list.items[0].id as string;
    const t = await body(await h.call(`/api/sessions/${id}/transcript`, auditor));
    const stmt = t.events.find((e: any) => e.type === "statement");
    expect(stmt.data).toMatchObject({ action: "allow", tag: "SELECT 3", rows: 3 });
    expect(stmt.data.text).toContain("generate_series");

    const frames = await body(await h.call(`/api/sessions/${id}/frames?limit=2`, admin));
    expect(frames.items.length).toBe(2);
    expect(frames.total).toBeGreaterThan(2);
    const rest = await body(
      await h.call(`/api/sessions/${id}/frames?limit=5000&cursor=${frames.next_cursor}`, admin),
    );
    expect(rest.items.length).toBe(frames.total - 2);
    const row = rest.items.find((f: any) => f.kind === "DataRow");
    expect(row.data.values).toEqual(["1", "row 1"]);

    const replay = await body(await h.call(`/api/sessions/${id}/replay`, auditor));
    expect(replay.steps.length).toBe(1);
    expect(replay.steps[0]).toMatchObject({ action: "allow", rowCount: 3, tag: "SELECT 3" });
    expect(replay.steps[0].result.columns).toEqual(["n", "label"]);
    expect(replay.steps[0].result.rows).toEqual([
      ["1", "row 1"],
      ["2", "row 2"],
      ["3", "row 3"],
    ]);

    for (const what of ["transcript", "frames", "replay"]) {
      const e = await waitForEvent(
        gw,
        (x) => x.type === "recording.read" && x.sessionId === id && x.data.what === what,
      );
      expect(e.data.who).toBe(what === "frames" ? "root-admin" : "alice-auditor");
    }
  });

  test("the failed statement shows its error in the replay", async () => {
    const list = await body(await h.call("/api/sessions?subject=agent-a", auditor));
    const id = list.items[0].id as string;
    const replay = await body(await h.call(`/api/sessions/${id}/replay`, auditor));
    expect(replay.steps[0].text).toBe("select 1/0;");
    expect(replay.steps[0].error).toContain("division by zero");
    expect(replay.steps[0].result.errors[0]).toMatchObject({ code: "22012" });
  });
});

describe("gateway state", () => {
  test("connections never show a credential", async () => {
    const r = await h.call("/api/connections", auditor);
    const text = await r.text();
    expect(r.status).toBe(200);
    expect(text).toContain('"name":"ledger"');
    expect(text).toContain(`${db.host}:${db.port}/${db.database}`);
    expect(text).not.toContain(db.roles.scram.password);
    expect(text.toLowerCase()).not.toContain("password");
  });

  test("policy shows the loaded bundle's hash and load time", async () => {
    const p = await body(await h.call("/api/policy", auditor));
    expect(p.loaded).toBe(true);
    expect(p.hash).toBe(gw.gw.policy.hash);
    expect(typeof p.loaded_at).toBe("number");
  });

  test("audit status verifies the log and shows the latest signed checkpoint", async () => {
    await Bun.sleep(1_100); // a checkpoint is written every second with new events
    const s = await body(await h.call("/api/audit/verify", admin, { method: "POST" }));
    expect(s.verify.ok).toBe(true);
    expect(s.verify.logs[0]).toMatchObject({ log_id: gw.gw.logId, ok: true });
    const ours = s.logs.find((l: any) => l.ours);
    expect(ours.key_matches_gateway).toBe(true);
    expect(ours.latest_checkpoint.root_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(s.counts.sessions).toBe(3);
    // Cached: the next status answers from the same run.
    const again = await body(await h.call("/api/audit/status", auditor));
    expect(again.verify.checked_at).toBe(s.verify.checked_at);
  });
});
