// The conformance suite against SQLite (a temp file, WAL). An outage is another process holding the write lock.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Recorder } from "../../src/audit/recorder.ts";
import { openStore } from "../../src/audit/store.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import { CustosError } from "../../src/core/errors.ts";
import { evidenceConformance } from "./evidence-conformance.ts";
import { newLogId, testKeys, writeLog } from "./fixtures.ts";
import { storeConformance } from "./store-conformance.ts";

const dir = mkdtempSync(join(tmpdir(), "custos-audit-"));
const file = join(dir, "audit.db");

storeConformance("sqlite", async () => {
  const raw = new Database(file, { create: true });
  raw.exec("PRAGMA busy_timeout = 5000");
  return {
    url: `sqlite:${file}?busy_timeout=100`,
    async exec(sql, params = []) {
      raw.prepare(sql).run(...(params as never[]));
    },
    async outage() {
      const holder = new Database(file);
      holder.exec("BEGIN IMMEDIATE");
      return async () => {
        holder.exec("ROLLBACK");
        holder.close();
      };
    },
    async close() {
      raw.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

evidenceConformance("sqlite", async () => {
  const own = mkdtempSync(join(tmpdir(), "custos-evidence-"));
  const file = join(own, "evidence.db");
  const raw = new Database(file, { create: true });
  raw.exec("PRAGMA busy_timeout = 5000");
  return {
    url: `sqlite:${file}`,
    async exec(sql, params = []) {
      raw.prepare(sql).run(...(params as never[]));
    },
    async outage() {
      throw new Error("not used");
    },
    async close() {
      raw.close();
      rmSync(own, { recursive: true, force: true });
    },
  };
});

describe("sqlite store specifics", () => {
  test("a body rewritten through SQL text (body || 'x' makes TEXT) fails verify naming the log, not a crash", async () => {
    const own = mkdtempSync(join(tmpdir(), "custos-audit-text-"));
    try {
      const path = join(own, "text.db");
      const store = await openStore(`sqlite:${path}`);
      const logId = newLogId("text");
      await writeLog(store, logId);
      const db = new Database(path);
      db.exec(`UPDATE audit_events SET body = body || 'x' WHERE log_id = '${logId}' AND seq = 5`);
      expect(
        db.query(`SELECT typeof(body) AS t FROM audit_events WHERE log_id = '${logId}' AND seq = 5`).get(),
      ).toEqual({ t: "text" });
      db.close();
      const report = await verifyLog(store);
      const log = report.logs.find((l) => l.logId === logId)!;
      expect(report.ok).toBe(false);
      expect(log.ok).toBe(false);
      expect(log.firstFailure?.seq).toBe(5);
      await store.close();
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  test("opens the file in WAL mode", async () => {
    const own = mkdtempSync(join(tmpdir(), "custos-audit-wal-"));
    try {
      const path = join(own, "wal.db");
      const store = await openStore(`sqlite:${path}`);
      await store.close();
      const db = new Database(path);
      expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
      db.close();
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  test("an unopenable path fails start with audit.unavailable", async () => {
    const err = await Recorder.start({
      storeUrl: "sqlite:/nonexistent-dir/deeper/audit.db",
      logId: newLogId("bad"),
      signer: await testKeys,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(CustosError);
    expect(err.code).toBe("audit.unavailable");
    expect(err.message).toStartWith("audit store sqlite:/nonexistent-dir/deeper/audit.db cannot be opened:");
  });

  test("an unknown store url is a config error", async () => {
    const err = await openStore("mysql://x").catch((e) => e);
    expect(err).toBeInstanceOf(CustosError);
    expect(err.code).toBe("config.invalid");
  });
});
