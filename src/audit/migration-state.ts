// Whether a store needs its migrations, decided the way drizzle's migrator decides it (drizzle-orm 0.45,
// pg-core/sqlite-core dialect.migrate): it reads the newest created_at in __drizzle_migrations and applies
// every journal entry whose `when` is later. Hashes are recorded but never compared, so neither are they
// here: judging otherwise would call a store "pending" that migrate() leaves as it is.
// Opening a migrated store then needs no CREATE privilege (deploy/postgres/audit-store-roles.sql).
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface JournalEntry {
  tag: string;
  /** Milliseconds; drizzle stores it as the row's created_at. */
  when: number;
}

/** The entries of <folder>/meta/_journal.json, the same file drizzle's migrator reads. */
export function readJournal(folder: string): JournalEntry[] {
  const journal = JSON.parse(readFileSync(join(folder, "meta", "_journal.json"), "utf8")) as {
    entries: { tag: string; when: number }[];
  };
  return journal.entries.map((e) => ({ tag: e.tag, when: e.when }));
}

/** Entries migrate() would apply; lastApplied: newest created_at in the table, null when absent or empty. */
export function pendingMigrations(journal: JournalEntry[], lastApplied: number | null): JournalEntry[] {
  return journal.filter((e) => lastApplied === null || lastApplied < e.when);
}
