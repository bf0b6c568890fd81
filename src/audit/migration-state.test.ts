import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pendingMigrations, readJournal } from "./migration-state.ts";
import { openSqliteStore } from "./sqlite-store.ts";

const PG = new URL("./migrations/pg", import.meta.url).pathname;
const SQLITE = new URL("./migrations/sqlite", import.meta.url).pathname;

test("both dialects' journals list the same migrations in order", () => {
  const pg = readJournal(PG);
  expect(pg.length).toBeGreaterThanOrEqual(2);
  expect(readJournal(SQLITE).map((e) => e.tag)).toEqual(pg.map((e) => e.tag));
  for (let i = 1; i < pg.length; i++) expect(pg[i]!.when).toBeGreaterThan(pg[i - 1]!.when);
});

test("pending: everything on a fresh store, what is newer than the last applied, nothing when current", () => {
  const journal = [
    { tag: "0000_a", when: 100 },
    { tag: "0001_b", when: 200 },
    { tag: "0002_c", when: 300 },
  ];
  expect(pendingMigrations(journal, null).map((e) => e.tag)).toEqual(["0000_a", "0001_b", "0002_c"]);
  expect(pendingMigrations(journal, 100).map((e) => e.tag)).toEqual(["0001_b", "0002_c"]);
  expect(pendingMigrations(journal, 300)).toEqual([]);
  // A store migrated by a newer Custos (a later entry this build does not know) is current for it.
  expect(pendingMigrations(journal, 400)).toEqual([]);
});

test("the embedded store migrates itself: a new file, and one a migration behind", async () => {
  const dir = mkdtempSync(join(tmpdir(), "custos-migrate-"));
  const path = join(dir, "audit.db");
  const tables = () => {
    const db = new Database(path, { readonly: true });
    try {
      return db
        .query("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'approval%' ORDER BY 1")
        .all()
        .map((r) => (r as { name: string }).name);
    } finally {
      db.close();
    }
  };
  try {
    await openSqliteStore(path).close();
    expect(tables()).toEqual(["approval_decisions", "approval_requests"]);
    const pruneColumns = () => {
      const db = new Database(path, { readonly: true });
      try {
        return db.query("SELECT name FROM pragma_table_info('audit_events') WHERE name = 'pruned_at'").all()
          .length;
      } finally {
        db.close();
      }
    };
    expect(pruneColumns()).toBe(1);
    // Back to the state before 0002_retention, as an older Custos left it.
    const last = readJournal(SQLITE).at(-1)!;
    expect(last.tag).toBe("0002_retention");
    const db = new Database(path);
    db.exec("ALTER TABLE audit_events DROP COLUMN pruned_at; ALTER TABLE recordings DROP COLUMN pruned_at;");
    db.query("DELETE FROM __drizzle_migrations WHERE created_at = ?").run(last.when);
    db.close();
    expect(pruneColumns()).toBe(0);
    await openSqliteStore(path).close();
    expect(pruneColumns()).toBe(1);
    expect(tables()).toEqual(["approval_decisions", "approval_requests"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
