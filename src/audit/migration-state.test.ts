import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
  // The tables the newest migration creates: the state "a migration behind" lacks them.
  const last = readJournal(SQLITE).at(-1)!;
  const created = [
    ...readFileSync(join(SQLITE, `${last.tag}.sql`), "utf8").matchAll(/CREATE TABLE `([a-z_]+)`/g),
  ].map((m) => m[1]!);
  expect(created.length).toBeGreaterThan(0);
  const tables = () => {
    const db = new Database(path, { readonly: true });
    try {
      return db
        .query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
        .all()
        .map((r) => (r as { name: string }).name)
        .filter((n) => created.includes(n));
    } finally {
      db.close();
    }
  };
  try {
    await openSqliteStore(path).close();
    expect(tables()).toEqual([...created].sort());
    // Back to the state before the newest migration, as an older Custos left it.
    const db = new Database(path);
    for (const t of created) db.exec(`DROP TABLE ${t}`);
    db.query("DELETE FROM __drizzle_migrations WHERE created_at = ?").run(last.when);
    db.close();
    await openSqliteStore(path).close();
    expect(tables()).toEqual([...created].sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
