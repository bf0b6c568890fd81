// Approvals over the shared PostgreSQL store (postgres.js + drizzle): the request row is locked (FOR UPDATE)
// while a decision is folded in, so approvers on several gateways cannot both count; every change is
// announced with NOTIFY, which a gateway holding a statement hears through LISTEN.
import { and, desc, eq, gt, inArray, isNull, lte, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as t from "../audit/schema-pg.ts";
import { openStore } from "../audit/store.ts";
import { CustosError } from "../core/errors.ts";
import { type ApprovalRepository, attachDecisions, type RequestStatus } from "./repository.ts";

/** NOTIFY channel; the payload is the request id. */
export const CHANNEL = "custos_approvals";

export async function openPgRepository(url: string): Promise<ApprovalRepository> {
  // The audit store's migrations create the tables (under its advisory lock); apply them if nobody has yet.
  await (await openStore(url)).close();
  const client = postgres(url, {
    max: 3,
    connect_timeout: 5,
    idle_timeout: 30,
    onnotice: () => {},
    connection: { application_name: "custos-approvals", synchronous_commit: "on" },
  });
  const db = drizzle({ client, schema: t });
  const R = t.approvalRequests;
  const D = t.approvalDecisions;

  const withDecisions = async (rows: (typeof R.$inferSelect)[]) => {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    return attachDecisions(rows, await db.select().from(D).where(inArray(D.requestId, ids)));
  };
  const announce = (id: string) => sql`select pg_notify(${CHANNEL}, ${id})`;

  const repo: ApprovalRepository = {
    dialect: "postgres",

    async create(row) {
      await db.insert(R).values(row);
    },

    async get(id) {
      return (await withDecisions(await db.select().from(R).where(eq(R.id, id))))[0];
    },

    async list({ status, kind, limit }) {
      const rows = await db
        .select()
        .from(R)
        .where(and(status ? eq(R.status, status) : undefined, kind ? eq(R.kind, kind) : undefined))
        .orderBy(desc(R.createdAt), desc(R.id))
        .limit(limit);
      return withDecisions(rows);
    },

    async decide(id, decision, fold) {
      await db.transaction(async (tx) => {
        const [request] = await tx.select().from(R).where(eq(R.id, id)).for("update");
        if (!request) throw new CustosError("approval.not_found", `no approval request ${id}`);
        const existing = await tx.select().from(D).where(eq(D.requestId, id));
        const patch = fold(request, existing);
        await tx.insert(D).values(decision);
        if (Object.keys(patch).length) await tx.update(R).set(patch).where(eq(R.id, id));
        // Delivered on commit, to every gateway listening.
        await tx.execute(announce(id));
      });
      return (await repo.get(id))!;
    },

    async transition(id, from, patch) {
      const rows = await db
        .update(R)
        .set(patch)
        .where(and(eq(R.id, id), eq(R.status, from)))
        .returning({ id: R.id });
      if (rows.length) await db.execute(announce(id));
      return rows.length > 0;
    },

    async consume(id, now) {
      const rows = await db
        .update(R)
        .set({ consumedAt: now })
        .where(and(eq(R.id, id), eq(R.status, "approved"), isNull(R.consumedAt)))
        .returning({ id: R.id });
      return rows.length > 0;
    },

    async abandonPending(logId, now) {
      const rows = await db
        .update(R)
        .set({ status: "abandoned", decidedAt: now, endedReason: "gateway restarted" })
        .where(and(eq(R.logId, logId), eq(R.status, "pending"), eq(R.kind, "statement")))
        .returning();
      for (const r of rows) await db.execute(announce(r.id));
      return rows;
    },

    async liveGrant(connection, subject, issuer, now) {
      const [row] = await db
        .select()
        .from(R)
        .where(
          and(
            eq(R.kind, "access"),
            eq(R.status, "approved"),
            eq(R.connection, connection),
            eq(R.requesterSubject, subject),
            eq(R.requesterIssuer, issuer),
            gt(R.grantExpiresAt, now),
            lte(R.decidedAt, now),
          ),
        )
        .orderBy(desc(R.grantExpiresAt))
        .limit(1);
      return row;
    },

    async statuses(ids) {
      const out = new Map<string, RequestStatus>();
      if (ids.length === 0) return out;
      for (const r of await db.select({ id: R.id, status: R.status }).from(R).where(inArray(R.id, ids))) {
        out.set(r.id, r.status as RequestStatus);
      }
      return out;
    },

    async notify(id) {
      await db.execute(announce(id));
    },

    async listen(listener) {
      // postgres.js keeps one dedicated connection for LISTEN and re-subscribes after a reconnect.
      await client.listen(CHANNEL, (payload) => listener(payload));
      return true;
    },

    async close() {
      await client.end({ timeout: 2 });
    },
  };
  return repo;
}
