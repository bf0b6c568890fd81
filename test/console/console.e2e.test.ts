// The console in a real browser (headless Chromium) against a real gateway, PostgreSQL, psql and the test OIDC
// issuer: sign in through the authorization code flow, find a session made by psql and replay it, approve a
// statement a waiting psql holds and watch psql complete, and see an auditor refused when approving.
// Screenshots of each view land in test/artifacts/.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { Page } from "playwright-core";
import { waitForEvent } from "../support/audit-read.ts";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { CHROMIUM, launchBrowser, type TestBrowser } from "./browser.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let browser: TestBrowser;
let base: string;

const count = (where: string) =>
  Number(db.sql(`SELECT count(*) FROM payments WHERE ${where}`, "ledger").trim());

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup-test-deps`);
  [db, issuer, browser] = await Promise.all([startPostgres(), startOidcIssuer(), launchBrowser()]);
  db.sql("CREATE TABLE payments (id int primary key, amount numeric)", "ledger");
  gw = await startTestGateway({
    pg: db,
    issuer,
    connection: {
      table_labels: { "public.payments": ["regulated"] },
      approvers: ["approvers"],
      review_timeout: "30s",
    },
    config: {
      console: {
        roles: { admin: ["custos-admins"], approver: ["approvers"], auditor: ["auditors"] },
        oidc: { issuer: issuer.issuer, client_id: "custos-console" },
      },
    },
  });
  base = `http://127.0.0.1:${gw.httpPort}`;
  // A session made by psql: two reads and one statement the policy denies outright for everyone (a parser
  // setting the gateway does not assume). A dba, because the
  // default pack forbids agents computing over columns.
  const agent = await gw.token("agent-smith", ["dba"]);
  await psql(
    gw.url(agent),
    [],
    "select 42 as answer;\nselect n, n * n as square from generate_series(1, 5) as g(n);\nset standard_conforming_strings = off;\n",
  );
  // The session's end (and with it the statement count) is recorded just after psql exits.
  await waitForEvent(gw, (e) => e.type === "session.end", 10_000);
  // An agent's masked read: a date of birth masked to NULL beside a real NULL, an email found in free text
  // beside plain text.
  db.sql(
    "CREATE TABLE customers (id int primary key, name text, date_of_birth date, note text);" +
      `INSERT INTO customers VALUES (1, 'Ann', '1980-02-03', 'write to ${EMAIL}'), (2, 'Bob', NULL, 'no contact');`,
    "ledger",
  );
  const masked = await psql(gw.url(await gw.token("agent-masked", ["agents"])), [
    "-X",
    "-A",
    "-c",
    "select id, name, date_of_birth, note from customers where id < 10 order by id",
  ]);
  expect(masked.code).toBe(0);
  expect(masked.stdout).toContain("no contact");
  expect(masked.stdout).not.toContain(EMAIL);
  expect(masked.stdout).not.toContain("1980");
  await waitForEvent(gw, (e) => e.type === "session.end" && e.data.commands === 1, 10_000);
  await gw.gw.recorder.durable();
}, 90_000);

const EMAIL = "ann.customer@example.com";

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await Promise.all([issuer?.stop(), db?.stop()]);
});

async function signIn(sub: string, groups: string[]): Promise<Page> {
  issuer.signInAs({ sub, groups });
  const page = await browser.page();
  await page.goto(`${base}/console`);
  // → /console/login → the issuer's /authorize → /console/callback → /console → the landing page.
  await page.waitForURL(/\/console\/(sessions|approvals)/);
  await expect(page.locator("#who").textContent()).resolves.toContain(sub);
  return page;
}

/** Waits until the live inbox shows a pending request holding this statement; returns its list item. */
async function pendingItem(page: Page, sql: string) {
  const item = page.locator("li.request", { has: page.locator("pre.sql", { hasText: sql }) });
  await item.waitFor({ state: "visible", timeout: 15_000 });
  return item;
}

describe("console in Chromium", () => {
  let admin: Page;

  test("an admin signs in with OIDC and finds the psql session", async () => {
    admin = await signIn("ann-admin", ["custos-admins", "approvers"]);
    await expect(page(admin).url()).toContain("/console/sessions");
    const row = admin.locator("tr", { hasText: "agent-smith" });
    await expect(row.locator("td").nth(6).textContent()).resolves.toBe("psql");
    await expect(row.locator("td").nth(7).textContent()).resolves.toBe("3");
    // Its id, duration, and a flag for the denial it holds.
    await expect(row.locator("td.id").getAttribute("title")).resolves.toMatch(/^[0-9a-f-]{36}$/);
    await expect(row.locator("td.duration").textContent()).resolves.toMatch(/^\d+\.\d s$/);
    await expect(row.locator("td.flags").textContent()).resolves.toBe("denials");
    await browser.shot(admin, "sessions");
    // Every end reason is a choice; the flag and the statement-text search keep it, other text empties it.
    const outcomes = await admin.locator("select[name=outcome] option").allTextContents();
    for (const o of ["upstream_error", "upstream_closed", "access.grant_revoked"])
      expect(outcomes).toContain(o);
    await admin.selectOption("select[name=flag]", "denials");
    await admin.fill("input[name=text]", "GENERATE_SERIES");
    await admin.click("form.filters button");
    await admin.locator("tr", { hasText: "agent-smith" }).waitFor();
    await admin.fill("input[name=text]", "no statement says this");
    await admin.click("form.filters button");
    await admin.locator("td.empty").waitFor();
    await admin.goto(`${base}/console/sessions`);
    // Filtering by subject keeps it; another subject empties the table.
    await admin.fill("input[name=subject]", "nobody");
    await admin.click("form.filters button");
    await admin.locator("td.empty").waitFor();
    await admin.fill("input[name=subject]", "agent-smith");
    await admin.click("form.filters button");
    await admin.locator("tr", { hasText: "agent-smith" }).locator("a").click();
    await admin.waitForURL(/\/console\/sessions\/.+/);
  });

  test("replays it statement by statement: timing, decision, rule, rows and the denial", async () => {
    const steps = admin.locator("#steps > li");
    await expect(steps.count()).resolves.toBe(3);
    await expect(admin.locator("#position").textContent()).resolves.toBe("1 / 3");
    await expect(steps.nth(0).locator("td").textContent()).resolves.toBe("42");
    await admin.click("#next");
    await expect(admin.locator("#position").textContent()).resolves.toBe("2 / 3");
    await expect(steps.nth(1).getAttribute("class")).resolves.toContain("current");
    await expect(steps.nth(1).locator("tbody tr").count()).resolves.toBe(5);
    await expect(steps.nth(1).locator("tbody tr").nth(4).textContent()).resolves.toBe("525");
    await admin.keyboard.press("ArrowRight");
    await expect(admin.locator("#position").textContent()).resolves.toBe("3 / 3");
    const denied = steps.nth(2);
    await expect(denied.locator(".badge").textContent()).resolves.toBe("deny");
    await expect(denied.locator(".rule").textContent()).resolves.toBe("custos.parser_setting");
    // The timeline's marks are placed by the script and step through the same way.
    await admin.locator("#timeline .mark").nth(0).click();
    await expect(admin.locator("#position").textContent()).resolves.toBe("1 / 3");
    await admin.locator("#timeline .mark").nth(2).click();
    await browser.shot(admin, "replay");
  });

  test("a session with a masked value is flagged and found by the masking filter", async () => {
    await admin.goto(`${base}/console/sessions`);
    await expect(admin.locator("select[name=flag] option").allTextContents()).resolves.toContain(
      "with masking",
    );
    await admin.selectOption("select[name=flag]", "masking");
    await admin.click("form.filters button");
    const row = admin.locator("tr", { hasText: "agent-masked" });
    await row.waitFor();
    await expect(row.locator("td.flags").textContent()).resolves.toBe("masking");
    // The dba's session masked nothing: filtered out.
    await expect(admin.locator("tr", { hasText: "agent-smith" }).count()).resolves.toBe(0);
    await browser.shot(admin, "sessions-masking");
  });

  test("the replay marks the cells the gateway masked, and only those", async () => {
    await admin.goto(`${base}/console/sessions?subject=agent-masked`);
    await admin.locator("tr", { hasText: "agent-masked" }).locator("a").click();
    await admin.waitForURL(/\/console\/sessions\/.+/);
    const rows = admin.locator("#steps > li").first().locator("tbody tr");
    await expect(rows.count()).resolves.toBe(2);
    const cell = (row: number, col: number) => rows.nth(row).locator("td").nth(col);
    // Row 1: the date was masked to NULL by the date_of_birth rule, the email in the note by a detector.
    await expect(cell(0, 2).textContent()).resolves.toBe("NULL");
    await expect(cell(0, 2).getAttribute("class")).resolves.toContain("masked");
    await expect(cell(0, 2).getAttribute("title")).resolves.toContain("date_of_birth");
    await expect(cell(0, 3).getAttribute("class")).resolves.toContain("masked");
    await expect(cell(0, 3).getAttribute("title")).resolves.toContain("detector email");
    await expect(cell(0, 3).textContent()).resolves.not.toContain(EMAIL);
    // Row 2: a real NULL and plain text are shown as received, unmarked; so are id and name everywhere.
    await expect(cell(1, 2).textContent()).resolves.toBe("NULL");
    await expect(cell(1, 2).getAttribute("class")).resolves.toBe("null");
    await expect(cell(1, 3).getAttribute("class")).resolves.toBeNull();
    for (const r of [0, 1])
      for (const c of [0, 1]) await expect(cell(r, c).getAttribute("class")).resolves.toBeNull();
    await expect(admin.locator("#steps > li").first().locator("th.masked").count()).resolves.toBe(2);
    await browser.shot(admin, "replay-masked");
  });

  test("approves a pending statement and the waiting psql completes", async () => {
    await admin.goto(`${base}/console/approvals`);
    const sql = "INSERT INTO payments VALUES (7, 700)";
    // The inbox is already open when psql's statement arrives: it must show up live.
    const carol = await gw.token("carol@bank.example", ["dba"]);
    const run = psql(gw.url(carol), ["-c", sql]);
    const item = await pendingItem(admin, sql);
    await expect(item.textContent()).resolves.toContain("carol@bank.example");
    expect(count("id = 7")).toBe(0);
    await browser.shot(admin, "approvals-pending");
    await item.locator("input[name=reason]").fill("ticket CHG-1234, reviewed");
    await item.locator("button.approve").click();
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("INSERT 0 1");
    expect(count("id = 7")).toBe(1);
    await expect(item.locator(".result").textContent()).resolves.toBe("approved");
    // The decided card left Pending at once, without a reload.
    await expect(admin.locator("#decided li.request").count()).resolves.toBe(1);
    await expect(admin.locator("#pending li.request").count()).resolves.toBe(0);
    await admin.reload();
    await expect(admin.locator("#recent").textContent()).resolves.toContain("ticket CHG-1234, reviewed");
    await browser.shot(admin, "approvals-decided");
  });

  test("the replay shows the approved statement as review → approved by whom after how long", async () => {
    await gw.gw.recorder.durable();
    await admin.goto(
      `${base}/console/sessions?subject=${encodeURIComponent("carol@bank.example")}&flag=reviews`,
    );
    await admin.locator("tr", { hasText: "carol@bank.example" }).first().locator("a").click();
    await admin.waitForURL(/\/console\/sessions\/.+/);
    const badge = admin.locator("#steps > li .badge").first();
    await expect(badge.textContent()).resolves.toMatch(/^review → approved by ann-admin after \d+ s$/);
    await browser.shot(admin, "replay-approved");
  });

  test("an approver opens the session of a request waiting on them, read-only, with a countdown; a phone fits", async () => {
    issuer.signInAs({ sub: "bob-approver", groups: ["approvers"] });
    const context = await browser.browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
    });
    const bob = await context.newPage();
    bob.setDefaultTimeout(15_000);
    await bob.goto(`${base}/console`);
    await bob.waitForURL(/\/console\/approvals/);
    const sql = "INSERT INTO payments VALUES (9, 900)";
    const carol = await gw.token("carol@bank.example", ["dba"]);
    const run = psql(gw.url(carol), ["-c", sql]);
    const item = await pendingItem(bob, sql);
    await item.locator(".countdown", { hasText: "s left" }).waitFor();
    await expect(item.locator(".countdown").textContent()).resolves.toMatch(/^\d+ s left$/);
    // Nothing is wider than the phone's screen.
    // A string: evaluated in the page (this file has no DOM types).
    const overflow = (await bob.evaluate(
      "document.documentElement.scrollWidth - window.innerWidth",
    )) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await browser.shot(bob, "approvals-phone");
    // Without the read role, the sessions list is closed to bob, but this request's session is open.
    expect((await bob.goto(`${base}/console/sessions`))?.status()).toBe(403);
    await bob.goBack();
    const link = await (await pendingItem(bob, sql)).locator("a").getAttribute("href");
    const opened = await bob.goto(`${base}${link}`);
    expect(opened?.status()).toBe(200);
    await expect(bob.locator(".readonly").textContent()).resolves.toContain("waits for your");
    await browser.shot(bob, "replay-approver-phone");
    await bob.goto(`${base}/console/approvals`);
    const held = await pendingItem(bob, sql);
    await held.locator("input[name=reason]").fill("not now");
    await held.locator("button.deny").click();
    expect((await run).code).not.toBe(0);
    expect(count("id = 9")).toBe(0);
    // Once decided, the session is closed to bob again.
    expect((await bob.goto(`${base}${link}`))?.status()).toBe(403);
    await context.close();
  });

  test("the audit-event browser filters by family and pages back through the log", async () => {
    // An authentication failure to find: a psql with a token nobody issued.
    const bad = await psql(gw.url("not-a-token"), ["-c", "select 1"]);
    expect(bad.code).not.toBe(0);
    await waitForEvent(gw, (e) => e.type === "auth.failure", 10_000);
    await gw.gw.recorder.durable();
    await admin.goto(`${base}/console/events`);
    await admin.selectOption("select[name=type]", "authentication failures");
    await admin.click("form.filters button");
    await admin.locator("table.events tr[data-type='auth.failure']").first().waitFor();
    const types = await admin
      .locator("table.events tbody tr")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-type")));
    expect(types.every((t) => t === "auth.failure" || t === "console.login_failure")).toBe(true);
    await browser.shot(admin, "events-auth-failures");
    await admin.selectOption("select[name=type]", "approvals");
    await admin.click("form.filters button");
    await admin.locator("table.events tr[data-type='approval.approved']").first().waitFor();
    // All events, ten a page: the next page is older.
    await admin.goto(`${base}/console/events?limit=10`);
    const firstPage = await admin
      .locator("table.events tbody tr")
      .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-seq"))));
    expect(firstPage.length).toBe(10);
    await admin.click("#older");
    const secondPage = await admin
      .locator("table.events tbody tr")
      .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-seq"))));
    expect(Math.max(...secondPage)).toBeLessThan(Math.min(...firstPage));
  });

  test("an auditor sees the request but is refused when approving", async () => {
    const auditor = await signIn("alice-auditor", ["auditors"]);
    await expect(auditor.url()).toContain("/console/sessions");
    await auditor.goto(`${base}/console/approvals`);
    const sql = "INSERT INTO payments VALUES (8, 800)";
    const carol = await gw.token("carol@bank.example", ["dba"]);
    const run = psql(gw.url(carol), ["-c", sql]);
    const item = await pendingItem(auditor, sql);
    await item.locator("input[name=reason]").fill("I should not be able to");
    await item.locator("button.approve").click();
    await expect(item.locator(".result.error").textContent()).resolves.toContain("refused (403)");
    await browser.shot(auditor, "approvals-auditor-refused");
    expect(count("id = 8")).toBe(0);
    // The admin denies it; psql gets the reason and nothing was written.
    await admin.goto(`${base}/console/approvals`);
    const held = await pendingItem(admin, sql);
    await held.locator("input[name=reason]").fill("not in a change window");
    await held.locator("button.deny").click();
    const r = await run;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("not in a change window");
    expect(count("id = 8")).toBe(0);
  });

  test("the audit integrity panel shows a verified log and its latest checkpoint", async () => {
    await Bun.sleep(1_100); // checkpoints are written every second
    await admin.goto(`${base}/console/audit`);
    // The button POSTs and then reloads the page: wait for that reload, not for the page already loaded,
    // or the reads below race the navigation (seen in CI as a verdict read from a page being replaced).
    const reloaded = admin.waitForEvent("load");
    await admin.click("#verify-now");
    await reloaded;
    // On a busy machine a run can outlast the 2 s the API waits; the panel then says "running": look again.
    for (let i = 0; i < 20 && (await admin.locator(".verdict-ok").count()) === 0; i++) {
      await Bun.sleep(500);
      await admin.goto(`${base}/console/audit`);
    }
    await expect(admin.locator("#verdict").textContent()).resolves.toContain("Audit log verified");
    await expect(admin.locator("table.logs").textContent()).resolves.toContain("this gateway");
    await expect(admin.locator("table.connections").textContent()).resolves.not.toContain(
      db.roles.scram.password,
    );
    await browser.shot(admin, "audit");
  });
});

const page = (p: Page) => p;
