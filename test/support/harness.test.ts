import { expect, test } from "bun:test";
import postgres from "postgres";
import { startPostgres } from "./postgres.ts";

test("pg harness", async () => {
  const pg = await startPostgres({ ssl: true });
  try {
    for (const role of Object.values(pg.roles)) {
      const sql = postgres(pg.url(role), { max: 1 });
      const [r] = await sql`select current_user as u, 1 as one`;
      expect(r!.u).toBe(role.user);
      await sql.end();
    }
    expect(pg.sql("select 42").trim()).toBe("42");
  } finally {
    await pg.stop();
  }
});
