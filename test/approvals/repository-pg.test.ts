// The approval repository conformance suite against a real PostgreSQL; changes arrive by NOTIFY.
import { afterAll, expect, test } from "bun:test";
import { openApprovalRepository } from "../../src/approvals/repository.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { repositoryConformance, row } from "./repository-conformance.ts";

let pg: PgServer;

repositoryConformance("postgres", async () => {
  pg = await startPostgres();
  return { url: pg.url(pg.roles.scram), close: async () => {} };
});
afterAll(() => pg?.stop(), 30_000);

test("a change made through one repository is heard by another through LISTEN/NOTIFY", async () => {
  const url = pg.url(pg.roles.scram);
  const [a, b] = await Promise.all([openApprovalRepository(url), openApprovalRepository(url)]);
  try {
    const heard: string[] = [];
    expect(await b.listen((id) => heard.push(id))).toBe(true);
    const r = row();
    await a.create(r);
    expect(await a.transition(r.id, "pending", { status: "denied" })).toBe(true);
    const deadline = Date.now() + 3000;
    while (!heard.includes(r.id) && Date.now() < deadline) await Bun.sleep(20);
    expect(heard).toContain(r.id);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}, 30_000);
