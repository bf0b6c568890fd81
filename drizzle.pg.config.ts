// drizzle-kit: PostgreSQL migrations for the shared audit store. `bunx drizzle-kit generate --config drizzle.pg.config.ts`
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "postgresql",
  schema: "./src/audit/schema-pg.ts",
  out: "./src/audit/migrations/pg",
});
