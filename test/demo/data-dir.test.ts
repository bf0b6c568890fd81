// A persistent dataDir: the fixture is loaded once, and a restart keeps what clients wrote.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDemoDatabase } from "../../src/demo/database.ts";
import { FIXTURE_COUNTS } from "../../src/demo/fixture.ts";
import { demoUrl, psql } from "./clients.ts";

const dataDir = mkdtempSync(join(tmpdir(), "custos-demo-data-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test("a dataDir keeps its data across restarts and is not reloaded", async () => {
  const first = await startDemoDatabase({ dataDir });
  try {
    expect(first.startup.source).toBe("fresh");
    const w = await psql(demoUrl(first), "update customers set full_name = 'Restart Marker' where id = 2");
    expect(w.out).toBe("UPDATE 1");
    expect(w.code).toBe(0);
  } finally {
    await first.stop();
  }
  const second = await startDemoDatabase({ dataDir });
  try {
    expect(second.startup.source).toBe("data-dir");
    expect(second.password).not.toBe(first.password);
    const r = await psql(
      demoUrl(second),
      "select full_name from customers where id = 2",
      "select count(*) from transactions",
    );
    expect(r.out).toBe(`Restart Marker\n${FIXTURE_COUNTS.transactions}`);
    const stale = await psql(demoUrl(second, { password: first.password }), "select 1");
    expect(stale.err).toContain("password authentication failed");
  } finally {
    await second.stop();
  }
}, 40_000);
