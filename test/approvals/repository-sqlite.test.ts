// The approval repository conformance suite against the embedded SQLite store; it cannot push changes.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openApprovalRepository } from "../../src/approvals/repository.ts";
import { repositoryConformance } from "./repository-conformance.ts";

const dir = mkdtempSync(join(tmpdir(), "custos-approvals-"));

repositoryConformance("sqlite", async () => ({
  url: `sqlite:${join(dir, "audit.db")}`,
  async close() {
    rmSync(dir, { recursive: true, force: true });
  },
}));

test("the embedded store has no push: listen answers false so waiters poll", async () => {
  const own = mkdtempSync(join(tmpdir(), "custos-approvals-"));
  const repo = await openApprovalRepository(`sqlite:${join(own, "a.db")}`);
  expect(await repo.listen(() => {})).toBe(false);
  await repo.close();
  rmSync(own, { recursive: true, force: true });
});

test("an unknown store url is a config error", async () => {
  const err = await openApprovalRepository("mysql://x").catch((e) => e);
  expect(err.code).toBe("config.invalid");
});
