// Headless Chromium (Debian's package) driven by playwright-core, for the console's end-to-end tests: a fresh
// profile per launch, no network beyond loopback, screenshots into test/artifacts/ (gitignored) for review.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

export const ARTIFACTS = join(import.meta.dir, "../artifacts");
export const CHROMIUM = "/usr/bin/chromium";

export interface TestBrowser {
  browser: Browser;
  /** A new context (its own cookies) and page. */
  page(): Promise<Page>;
  shot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // playwright-core's launch() refuses --user-data-dir and gives every launch a fresh temporary profile of its
  // own; TMPDIR points it at one we remove afterwards.
  const profile = mkdtempSync(join(tmpdir(), "custos-chromium-"));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    env: { ...process.env, TMPDIR: profile },
    timeout: 30_000,
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    browser,
    async page() {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      return page;
    },
    async shot(page, name) {
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
