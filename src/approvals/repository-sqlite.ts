// Approvals over the embedded SQLite store (its own bun:sqlite connection beside the recorder worker's, WAL).
// Transactions are BEGIN IMMEDIATE, so two deciders on one file serialize. SQLite cannot push changes:
// waiters poll (service.ts).
import { Database } from "bun:sqlite";
import { and, desc, eq, gt, inArray, isNull, lte } from "drizzle-orm";
import { drizzle } from "drizzle-orm/bun-sqlite";
import * as t from "../audit/schema-sqlite.ts";
import { walGuard } from "../audit/sqlite-wal-guard.ts";
import { openStore } from "../audit/store.ts";
import { CustosError } from "../core/errors.ts";
import { type ApprovalRepository, attachDecisions, type RequestStatus } from "./repository.ts";

export async function openSqliteRepository(path: string): Promise<ApprovalRepository> {
  // The audit store's migrations create the tables; opening it once applies them if nobody has yet.
  await (await openStore(`sqlite:${path}`)).close();
  const client = new Database(path, { strict: true });
  client.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
  const db = drizzle({ client, schema: t });
  // A decision, a grant or a consumed statement written to a -wal another process has unlinked would be
  // reported done and then lost (the recorder's store has the same guard; sqlite-wal-guard.ts says why).
  const wal = walGuard(path);
  const written = <T>(write: () => T): T => {
    wal.check();
    const out = write();
    wal.check();
    return out;
  };
  const R = t.approvalRequests;
  const D = t.approvalDecisions;

  const withDecisions = (rows: (typeof R.$inferSelect)[]) => {
    if (rows.length === 0) return [];
    const decisions = db
      .select()
      .from(D)
      .where(
        inArray(
          D.requestId,
          rows.map((r) => r.id),
        ),
      )
      .all();
    return attachDecisions(rows, decisions);
  };

  const repo: ApprovalRepository = {
    dialect: "sqlite",

    async create(row) {
      written(() => db.insert(R).values(row).run());
    },

    async get(id) {
      return withDecisions(db.select().from(R).where(eq(R.id, id)).all())[0];
    },

    async list({ status, kind, limit }) {
      const rows = db
        .select()
        .from(R)
        .where(and(status ? eq(R.status, status) : undefined, kind ? eq(R.kind, kind) : undefined))
        .orderBy(desc(R.createdAt), desc(R.id))
        .limit(limit)
        .all();
      return withDecisions(rows);
    },

    async decide(id, decision, fold) {
      written(() =>
        db.transaction(
          (tx) => {
            const request = tx.select().from(R).where(eq(R.id, id)).get();
            if (!request) throw new CustosError("approval.not_found", `no approval request ${id}`);
            const existing = tx.select().from(D).where(eq(D.requestId, id)).all();
            const patch = fold(request, existing);
            tx.insert(D).values(decision).run();
            if (Object.keys(patch).length) tx.update(R).set(patch).where(eq(R.id, id)).run();
          },
          { behavior: "immediate" },
        ),
      );
      return (await repo.get(id))!;
    },

    async transition(id, from, patch) {
      const rows = written(() =>
        db
          .update(R)
          .set(patch)
          .where(and(eq(R.id, id), eq(R.status, from)))
          .returning({ id: R.id })
          .all(),
      );
      return rows.length > 0;
    },

    async consume(id, now) {
      const rows = written(() =>
        db
          .update(R)
          .set({ consumedAt: now })
          .where(and(eq(R.id, id), eq(R.status, "approved"), isNull(R.consumedAt)))
          .returning({ id: R.id })
          .all(),
      );
      return rows.length > 0;
    },

    async abandonPending(logId, now) {
      const where = and(eq(R.logId, logId), eq(R.status, "pending"), eq(R.kind, "statement"));
      return written(() =>
        db.transaction(
          (tx) => {
            const rows = tx.select().from(R).where(where).all();
            tx.update(R)
              .set({ status: "abandoned", decidedAt: now, endedReason: "gateway restarted" })
              .where(where)
              .run();
            return rows;
          },
          { behavior: "immediate" },
        ),
      );
    },

    async liveGrant(connection, subject, issuer, now) {
      return db
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
        .limit(1)
        .get();
    },

    async statuses(ids) {
      const out = new Map<string, RequestStatus>();
      if (ids.length === 0) return out;
      for (const r of db.select({ id: R.id, status: R.status }).from(R).where(inArray(R.id, ids)).all()) {
        out.set(r.id, r.status as RequestStatus);
      }
      return out;
    },

    async notify() {},

    async listen() {
      return false;
    },

    async close() {
      client.close();
    },
  };
  return repo;
}
