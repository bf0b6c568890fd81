// drizzle-kit: SQLite migrations for the audit store (embedded default). `bunx drizzle-kit generate --config drizzle.sqlite.config.ts`
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/audit/schema-sqlite.ts",
  out: "./src/audit/migrations/sqlite",
});
