// The whole product from `./custos demo` alone, as a newcomer sees it: the banner's psql line reads masked
// rows, the banner's suggested write is held while psql waits, the demo admin approves it in the console
// (Chromium, signed in with a link from `custos console link`), psql completes, the write took effect, and
// the replay of the session shows the approval. Screenshots land in test/artifacts/.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/free-port.ts";
import { CHROMIUM, launchBrowser, type TestBrowser } from "./browser.ts";

const ROOT = join(import.meta.dir, "../..");
const CLI = join(ROOT, "src/cli/main.ts");
let proc: ReturnType<typeof Bun.spawn> | null = null;
let browser: TestBrowser;
let dataDir: string;
let output = "";

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup-test-deps`);
  dataDir = mkdtempSync(join(tmpdir(), "custos-demo-approval-"));
  const [port, httpPort] = [await freePort(), await freePort()];
  browser = await launchBrowser();
  proc = Bun.spawn(
    [process.execPath, CLI, "demo", "--port", `${port}`, "--http-port", `${httpPort}`, "--data-dir", dataDir],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const deadline = Date.now() + 60_000;
  while (!output.includes("Ctrl-C stops the demo") && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    output += new TextDecoder().decode(value);
  }
  reader.releaseLock();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  proc?.kill("SIGTERM");
  await proc?.exited;
  rmSync(dataDir, { recursive: true, force: true });
});

function psql(url: string, sql: string) {
  const p = Bun.spawn(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql], {
    stdout: "pipe",
    stderr: "pipe",
  });
  return {
    proc: p,
    done: (async () => ({
      code: await p.exited,
      stdout: await new Response(p.stdout).text(),
      stderr: await new Response(p.stderr).text(),
    }))(),
  };
}

test("the banner's held write is approved from the console while psql waits", async () => {
  const agentUrl = /psql "([^"]+)"/.exec(output)?.[1];
  expect(agentUrl).toBeDefined();
  const configFile = join(dataDir, "custos.yaml");
  // What the banner promises: the approver's ways in and a write that will be held.
  expect(output).toContain(`./custos approve ID --reason`);
  expect(output).toContain(`--config ${configFile}`);
  expect(output).toContain(`./custos console link --config ${configFile}`);
  const held = /^\s+(update accounts set balance = balance \+ 100 where id = 1;)$/m.exec(output)?.[1];
  expect(held).toBeDefined();

  // The agent's read comes back masked (no raw SSN shape in any byte psql printed).
  const read = await psql(agentUrl!, "select id, ssn from customers order by id limit 5").done;
  expect(read.code).toBe(0);
  expect(read.stdout.trim().split("\n")).toHaveLength(5);
  expect(read.stdout).not.toMatch(/\b\d{3}-\d{2}-\d{4}\b/);
  const balance = async () =>
    Number((await psql(agentUrl!, "select balance from accounts where id = 1").done).stdout.trim());
  const before = await balance();

  // A fresh console link from the CLI (the banner's own was for a first sign-in).
  const link = Bun.spawnSync([process.execPath, CLI, "console", "link", "--config", configFile], {
    cwd: ROOT,
  });
  expect(link.exitCode).toBe(0);
  const url = link.stdout.toString().trim();
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console\/link\?token=/);
  const page = await browser.page();
  await page.goto(url);
  await page.waitForURL(/\/console\/sessions/);
  await page.goto(`${new URL(url).origin}/console/approvals`);

  const run = psql(agentUrl!, held!);
  const item = page.locator("li.request", { has: page.locator("pre.sql", { hasText: "balance + 100" }) });
  await item.waitFor({ state: "visible", timeout: 20_000 });
  await expect(item.textContent()).resolves.toContain("demo-agent");
  // Held, not refused: psql is still waiting and nothing changed.
  expect(run.proc.exitCode).toBeNull();
  expect(await balance()).toBe(before);
  await browser.shot(page, "demo-approval-pending");
  await item.locator("input[name=reason]").fill("checked with the account owner");
  await item.locator("button.approve").click();
  const r = await run.done;
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("statement held for approval");
  expect(r.stdout).toContain("UPDATE 1");
  expect(await balance()).toBe(before + 100);
  await expect(item.locator(".result").textContent()).resolves.toBe("approved");
  await browser.shot(page, "demo-approval-decided");
}, 90_000);
