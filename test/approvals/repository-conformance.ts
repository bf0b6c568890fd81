// One suite, both approval repositories: the same behaviour from SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type ApprovalRepository,
  openApprovalRepository,
  type RequestRow,
} from "../../src/approvals/repository.ts";
import { foldVerdict } from "../../src/approvals/rules.ts";
import { CustosError } from "../../src/core/errors.ts";

let n = 0;
export const row = (over: Partial<RequestRow> = {}): RequestRow => ({
  id: `req-${Date.now()}-${n++}`,
  kind: "statement",
  status: "pending",
  connection: "ledger",
  requesterSubject: "alice",
  requesterIssuer: "https://idp",
  requesterGroups: '["dba"]',
  requesterKind: "human",
  approverGroups: '["approvers"]',
  minApprovals: 2,
  logId: "gw-conf",
  sessionId: "s1",
  statementText: "insert into t values (1)",
  statementHash: "h",
  params: null,
  rule: "r",
  reason: "regulated",
  durationMs: 60_000,
  createdAt: Date.now(),
  deadline: Date.now() + 60_000,
  decidedAt: null,
  grantExpiresAt: null,
  consumedAt: null,
  endedReason: null,
  ...over,
});

const decision = (requestId: string, subject: string, verdict = "approve") => ({
  requestId,
  approverSubject: subject,
  approverIssuer: "https://idp",
  approverGroups: '["approvers"]',
  amr: '["mfa"]',
  verdict,
  reason: "ok",
  time: Date.now(),
  logId: "gw-conf",
});

export function repositoryConformance(
  name: string,
  setup: () => Promise<{ url: string; close(): Promise<void> }>,
) {
  describe(`approval repository conformance: ${name}`, () => {
    let h: { url: string; close(): Promise<void> };
    let repo: ApprovalRepository;
    beforeAll(async () => {
      h = await setup();
      repo = await openApprovalRepository(h.url);
    }, 60_000);
    afterAll(async () => {
      await repo?.close();
      await h?.close();
    }, 30_000);

    const fold =
      (verdict: "approve" | "deny", subject: string) =>
      (r: RequestRow, d: Parameters<typeof foldVerdict>[1]) =>
        foldVerdict(r, d, verdict, { subject, issuer: "https://idp" }, Date.now());

    test("create, get and list with decisions; filters by status and kind", async () => {
      const a = row();
      const b = row({ kind: "access", sessionId: null });
      await repo.create(a);
      await repo.create(b);
      expect(await repo.get(a.id)).toEqual({ ...a, decisions: [] });
      expect(await repo.get("nope")).toBeUndefined();
      const access = await repo.list({ kind: "access", limit: 100 });
      expect(access.map((r) => r.id)).toContain(b.id);
      expect(access.map((r) => r.id)).not.toContain(a.id);
      expect((await repo.list({ status: "approved", limit: 100 })).map((r) => r.id)).not.toContain(a.id);
    });

    test("decide folds distinct approvers; a refused fold stores nothing", async () => {
      const r = row();
      await repo.create(r);
      const one = await repo.decide(r.id, decision(r.id, "bob"), fold("approve", "bob"));
      expect(one.status).toBe("pending");
      expect(one.decisions.map((d) => [d.approverSubject, d.amr])).toEqual([["bob", '["mfa"]']]);
      const err = await repo.decide(r.id, decision(r.id, "bob"), fold("approve", "bob")).catch((e) => e);
      expect(err).toBeInstanceOf(CustosError);
      expect(err.code).toBe("approval.conflict");
      expect((await repo.get(r.id))!.decisions).toHaveLength(1);
      const two = await repo.decide(r.id, decision(r.id, "dave"), fold("approve", "dave"));
      expect(two.status).toBe("approved");
      expect(two.decisions.map((d) => d.approverSubject)).toEqual(["bob", "dave"]);
      const missing = await repo.decide("nope", decision("nope", "x"), fold("approve", "x")).catch((e) => e);
      expect(missing.code).toBe("approval.not_found");
    });

    test("concurrent approvals are serialized: exactly one reaches approved", async () => {
      const r = row({ minApprovals: 1 });
      await repo.create(r);
      const results = await Promise.allSettled(
        ["p", "q", "s"].map((s) => repo.decide(r.id, decision(r.id, s), fold("approve", s))),
      );
      expect(results.filter((x) => x.status === "fulfilled")).toHaveLength(1);
      expect((await repo.get(r.id))!.decisions).toHaveLength(1);
    });

    test("transition is conditional, consume happens once, statuses reads many", async () => {
      const r = row();
      await repo.create(r);
      expect(await repo.consume(r.id, 1)).toBe(false);
      expect(await repo.transition(r.id, "approved", { status: "expired" })).toBe(false);
      expect(await repo.transition(r.id, "pending", { status: "approved", decidedAt: 5 })).toBe(true);
      expect(await repo.consume(r.id, 6)).toBe(true);
      expect(await repo.consume(r.id, 7)).toBe(false);
      expect((await repo.get(r.id))!.consumedAt).toBe(6);
      const s = await repo.statuses([r.id, "nope"]);
      expect([...s]).toEqual([[r.id, "approved"]]);
    });

    test("abandonPending takes only this instance's pending statements", async () => {
      const mine = row({ logId: "gw-x" });
      const other = row({ logId: "gw-y" });
      const decided = row({ logId: "gw-x", status: "denied" });
      for (const r of [mine, other, decided]) await repo.create(r);
      const abandoned = await repo.abandonPending("gw-x", 99);
      expect(abandoned.map((r) => r.id)).toEqual([mine.id]);
      expect((await repo.get(mine.id))!.status).toBe("abandoned");
      expect((await repo.get(other.id))!.status).toBe("pending");
      expect((await repo.get(decided.id))!.status).toBe("denied");
    });

    test("liveGrant finds an approved, unexpired grant of that identity on that connection only", async () => {
      const now = Date.now();
      const g = row({
        kind: "access",
        status: "approved",
        requesterSubject: "gina",
        decidedAt: now - 10,
        grantExpiresAt: now + 1000,
      });
      await repo.create(g);
      await repo.create(
        row({
          kind: "access",
          status: "approved",
          requesterSubject: "old",
          decidedAt: now - 10,
          grantExpiresAt: now - 1,
        }),
      );
      expect((await repo.liveGrant("ledger", "gina", "https://idp", now))?.id).toBe(g.id);
      expect(await repo.liveGrant("other", "gina", "https://idp", now)).toBeUndefined();
      expect(await repo.liveGrant("ledger", "gina", "https://evil", now)).toBeUndefined();
      expect(await repo.liveGrant("ledger", "old", "https://idp", now)).toBeUndefined();
      expect(await repo.liveGrant("ledger", "gina", "https://idp", now + 1000)).toBeUndefined();
    });
  });
}
