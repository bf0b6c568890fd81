// The console's sign-in and page access through app.request(): the OIDC code flow with PKCE against the real
// test issuer, one-time links, sealed cookies (tampering, expiry), the same-origin rule on cookie writes, and
// roles (an auditor refused on approve, an approver kept from recordings).
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
const ORIGIN = "http://gw.test";

beforeAll(async () => {
  [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
  gw = await startTestGateway({
    pg: db,
    issuer,
    config: { console: { ...CONSOLE_ROLES, oidc: { issuer: issuer.issuer, client_id: "custos-console" } } },
  });
  h = await adminHarness(gw);
  const r = await psql(gw.url(await gw.token("agent-7", ["agents"])), ["-c", "select 42 as answer"]);
  expect(r.code).toBe(0);
  await gw.gw.recorder.durable();
}, 60_000);

afterAll(async () => {
  await h?.close();
  await gw?.stop();
  await Promise.all([issuer?.stop(), db?.stop()]);
});

const get = (path: string, cookie?: string) =>
  h.app.request(`${ORIGIN}${path}`, { headers: cookie ? { cookie } : {} });
const cookieOf = (r: Response, name: string) => {
  const line = r.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  return line ? line.split(";")[0]! : null;
};

/** Runs the whole code flow: console → issuer /authorize → console /callback. */
async function oidcSignIn(user: { sub: string; groups: string[] }) {
  issuer.signInAs(user);
  const start = await get("/console/login");
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get("location")!);
  expect(authorize.origin).toBe(issuer.issuer);
  expect(authorize.searchParams.get("code_challenge_method")).toBe("S256");
  expect(authorize.searchParams.get("redirect_uri")).toBe(`${ORIGIN}/console/callback`);
  const login = cookieOf(start, "custos_login")!;
  const back = await fetch(authorize, { redirect: "manual" });
  const callback = new URL(back.headers.get("location")!);
  const done = await get(`/console/callback${callback.search}`, login);
  return { done, callback, login, session: cookieOf(done, "custos_console") };
}

describe("OIDC sign-in (authorization code + PKCE)", () => {
  test("an auditor signs in and sees the sessions table", async () => {
    const { done, session } = await oidcSignIn({ sub: "ann-auditor", groups: ["auditors"] });
    expect(done.status).toBe(200);
    expect(await done.clone().text()).toContain('content="0;url=/console"');
    const line = done.headers.getSetCookie().find((c) => c.startsWith("custos_console="))!;
    expect(line).toContain("HttpOnly");
    expect(line).toContain("SameSite=Strict");
    const page = await get("/console/sessions", session!);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("agent-7");
    expect(html).toContain("ann-auditor · auditor");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const e = await waitForEvent(gw, (x) => x.type === "console.login" && x.data.subject === "ann-auditor");
    expect(e.data).toMatchObject({ via: "oidc", roles: ["auditor"], amr: ["pwd", "mfa"] });
  });

  test("a replayed code, a wrong state and a missing login cookie are refused", async () => {
    const { callback, login } = await oidcSignIn({ sub: "ann-auditor", groups: ["auditors"] });
    const replay = await get(`/console/callback${callback.search}`, login);
    expect(replay.status).toBe(503);
    expect(await replay.text()).toContain("did not issue a token");
    expect(issuer.lastTokenError).toBe("invalid_grant");

    issuer.signInAs({ sub: "ann-auditor", groups: ["auditors"] });
    const start = await get("/console/login");
    const back = await fetch(start.headers.get("location")!, { redirect: "manual" });
    const q = new URL(back.headers.get("location")!).searchParams;
    const wrong = await get(
      `/console/callback?code=${q.get("code")}&state=forged`,
      cookieOf(start, "custos_login")!,
    );
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain("state does not match");
    const noCookie = await get(`/console/callback?code=${q.get("code")}&state=${q.get("state")}`);
    expect(noCookie.status).toBe(400);
    expect(await noCookie.text()).toContain("expired");
  });

  test("the issuer refusing and an identity without a role end on the login page", async () => {
    issuer.signInAs(null);
    const start = await get("/console/login");
    const back = await fetch(start.headers.get("location")!, { redirect: "manual" });
    const denied = await get(
      `/console/callback${new URL(back.headers.get("location")!).search}`,
      cookieOf(start, "custos_login")!,
    );
    expect(denied.status).toBe(401);
    expect(await denied.text()).toContain("access_denied");

    const { done, session } = await oidcSignIn({ sub: "agent-x", groups: ["agents"] });
    expect(done.status).toBe(403);
    expect(session).toBeNull();
    expect(await done.text()).toContain("no console role");
  });
});

describe("one-time links and cookies", () => {
  test("the session outlives the link's token, lasts console.session_ttl, and then says how to get a new link", async () => {
    const token = await h.gatewayToken("demo-admin", ["custos-admins"], 1_000);
    const first = await get(`/console/link?token=${token}`);
    expect(first.status).toBe(200);
    const cookie = cookieOf(first, "custos_console")!;
    const start = Date.now();
    try {
      // An hour on, the token is long expired; the session is not.
      h.deps.now = () => start + 3_600_000;
      expect((await get("/console/sessions", cookie)).status).toBe(200);
      // Past the default 8 hours it is over, and the page says so rather than pointing at the spent link.
      h.deps.now = () => start + 8 * 3_600_000 + 1_000;
      const over = await get("/console/sessions", cookie);
      expect(over.status).toBe(303);
      expect(over.headers.get("location")).toBe("/console/login?expired=1");
      const notice = await get("/console/login?expired=1");
      const html = await notice.text();
      expect(html).toContain("Your console session expired");
      expect(html).toContain("custos console link --config FILE");
      // No cookie at all is a plain sign-in, not an expiry.
      expect((await get("/console/sessions")).headers.get("location")).toBe("/console/login");
      // The API refuses the expired cookie too.
      const api = await h.app.request(`${ORIGIN}/api/sessions`, { headers: { cookie } });
      expect(api.status).toBe(401);
    } finally {
      h.deps.now = undefined;
    }
  });

  test("a link signs in once; the second use and a bad token are refused", async () => {
    const token = await h.gatewayToken("demo-admin", ["custos-admins"]);
    const first = await get(`/console/link?token=${token}`);
    expect(first.status).toBe(200);
    const cookie = cookieOf(first, "custos_console")!;
    expect((await get("/console/audit", cookie)).status).toBe(200);
    const again = await get(`/console/link?token=${token}`);
    expect(again.status).toBe(401);
    expect(await again.text()).toContain("already used");
    expect((await get("/console/link?token=garbage")).status).toBe(401);
    expect((await get("/console/link")).status).toBe(400);
  });

  test("no cookie, a tampered cookie or one sealed for another purpose sends the browser to sign in", async () => {
    expect((await get("/console/sessions")).headers.get("location")).toBe("/console/login");
    const token = await h.gatewayToken("demo-admin", ["custos-admins"]);
    const cookie = cookieOf(await get(`/console/link?token=${token}`), "custos_console")!;
    const [name, value] = cookie.split("=") as [string, string];
    const parts = value.split(".");
    parts[2] = `${parts[2]!.slice(0, -2)}AA`;
    const tampered = await get("/console/sessions", `${name}=${parts.join(".")}`);
    expect(tampered.status).toBe(303);
    const start = await get("/console/login");
    const loginAsSession = `custos_console=${cookieOf(start, "custos_login")!.split("=")[1]}`;
    expect((await get("/console/sessions", loginAsSession)).status).toBe(303);
    // The API answers 401 to the same.
    expect((await get("/api/sessions", `${name}=${parts.join(".")}`)).status).toBe(401);
  });

  test("cookie-authenticated writes need our own Origin", async () => {
    const token = await h.gatewayToken("demo-admin", ["custos-admins"]);
    const cookie = cookieOf(await get(`/console/link?token=${token}`), "custos_console")!;
    const post = (origin?: string) =>
      h.app.request(`${ORIGIN}/api/audit/verify`, {
        method: "POST",
        headers: { cookie, host: "gw.test", ...(origin ? { origin } : {}) },
      });
    expect((await post()).status).toBe(403);
    expect((await post("http://evil.test")).status).toBe(403);
    expect((await post(ORIGIN)).status).toBe(200);
  });

  test("sign-out clears the cookie, only from our own origin", async () => {
    const token = await h.gatewayToken("demo-admin", ["custos-admins"]);
    const cookie = cookieOf(await get(`/console/link?token=${token}`), "custos_console")!;
    const out = (origin?: string) =>
      h.app.request(`${ORIGIN}/console/logout`, {
        method: "POST",
        headers: { cookie, host: "gw.test", ...(origin ? { origin } : {}) },
      });
    expect((await out("http://evil.test")).status).toBe(403);
    expect((await out()).status).toBe(403);
    const ok = await out(ORIGIN);
    expect(ok.status).toBe(303);
    expect(ok.headers.getSetCookie().join()).toMatch(/custos_console=;.*Max-Age=0/);
  });
});

describe("roles in the console", () => {
  const signIn = async (sub: string, groups: string[]) => {
    const token = await h.gatewayToken(sub, groups);
    return cookieOf(await get(`/console/link?token=${token}`), "custos_console")!;
  };
  const decide = (cookie: string, verdict: string, reason: unknown = "looks fine") =>
    h.app.request(`${ORIGIN}/console/api/approvals/req-1/${verdict}`, {
      method: "POST",
      headers: { cookie, host: "gw.test", origin: ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ reason }),
    });

  test("an auditor is refused on approve and deny", async () => {
    const cookie = await signIn("ann-auditor", ["auditors"]);
    for (const v of ["approve", "deny"]) {
      const r = await decide(cookie, v);
      expect(r.status).toBe(403);
      expect(((await r.json()) as any).error.message).toContain("admin, approver");
    }
  });

  test("an approver may open the inbox but not recordings or the audit panel", async () => {
    const cookie = await signIn("bob-approver", ["approvers"]);
    expect((await get("/console", cookie)).headers.get("location")).toBe("/console/approvals");
    expect((await get("/console/approvals", cookie)).status).toBe(200);
    expect((await get("/console/sessions", cookie)).status).toBe(403);
    expect((await get("/console/audit", cookie)).status).toBe(403);
  });

  test("without the approvals module an admin's decision is 503, and a missing reason is 400 first", async () => {
    const cookie = await signIn("root", ["custos-admins"]);
    const r = await decide(cookie, "approve");
    expect(r.status).toBe(503);
    const empty = await decide(cookie, "approve", "  ");
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as any).error.message).toContain("reason is required");
  });

  test("the replay page shows the statement and its rows, and the read is audited", async () => {
    const cookie = await signIn("ann-auditor", ["auditors"]);
    const list = await get("/console/sessions?subject=agent-7", cookie);
    const id = /data-session="([^"]+)"/.exec(await list.text())![1]!;
    const page = await get(`/console/sessions/${id}`, cookie);
    const html = await page.text();
    expect(html).toContain("select 42 as answer");
    expect(html).toContain("<th>answer</th>");
    expect(html).toContain("<td>42</td>");
    const e = await waitForEvent(
      gw,
      (x) => x.type === "recording.read" && x.sessionId === id && x.data.what === "console.replay",
    );
    expect(e.data.who).toBe("ann-auditor");
    expect((await get("/console/sessions?outcome=bogus", cookie)).status).toBe(400);
    expect((await get("/console/sessions/nope", cookie)).status).toBe(404);
  });
});
