// The approval repository conformance suite against the embedded SQLite store; it cannot push changes.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openApprovalRepository } from "../../src/approvals/repository.ts";
import { otherProcessWrites } from "../support/sqlite-takeover.ts";
import { repositoryConformance, row } from "./repository-conformance.ts";

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

test("after this process drops its SQLite locks and another process takes the file over, writes are refused, not reported done", async () => {
  const own = mkdtempSync(join(tmpdir(), "custos-approvals-wal-"));
  const path = join(own, "audit.db");
  const repo = await openApprovalRepository(`sqlite:${path}`);
  const before = row();
  await repo.create(before);
  // The harmful pattern (src/audit/sqlite-wal-guard.ts): a read of the store's files in this process drops
  // its POSIX locks; the next process to open the file checkpoints and unlinks the -wal when it closes.
  readFileSync(path);
  readFileSync(`${path}-shm`);
  const other = await otherProcessWrites(path, "DELETE FROM approval_requests WHERE id = 'none'");
  expect(other.stderr).toBe("");
  expect(other.code).toBe(0);
  const lost = row();
  for (const write of [
    () => repo.create(lost),
    () => repo.transition(before.id, "pending", { status: "expired" }),
    () => repo.consume(before.id, Date.now()),
    () => repo.abandonPending("gw-conf", Date.now()),
  ]) {
    expect((await write().catch((e) => e))?.code).toBe("audit.unavailable");
  }
  await repo.close();
  // By effect, read by a new connection: the request created before is there, as it was; nothing after.
  const again = await openApprovalRepository(`sqlite:${path}`);
  expect((await again.get(before.id))?.status).toBe("pending");
  expect(await again.get(lost.id)).toBeUndefined();
  await again.close();
  rmSync(own, { recursive: true, force: true });
});
