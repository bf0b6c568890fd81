// Issue 15's tampering cases against `audit verify`, for every store: an attacker with write access to the
// store (SQL straight at it, bypassing Custos) cuts the tail, rewrites the log under a new id and key,
// re-signs with the gateway's own key, deletes everything, edits each projected column; verify without
// the operator's trust (what the store alone says), with the data_dir head, and with the operator's key
// and an anchored checkpoint. Retention prunes and verify stays green; inclusion proofs verify.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openApprovalRepository } from "../../src/approvals/repository.ts";
import { ApprovalService } from "../../src/approvals/service.ts";
import {
  type CheckpointSigner,
  generateSignerKeys,
  importSigner,
  signedNote,
} from "../../src/audit/checkpoint.ts";
import { LogWriter } from "../../src/audit/log-writer.ts";
import { ProofError, proveInclusion } from "../../src/audit/prove.ts";
import { pruneLog } from "../../src/audit/prune.ts";
import { type AuditStore, openStore } from "../../src/audit/store.ts";
import { publicKeyFile, type Trust, trustFromFiles } from "../../src/audit/trust.ts";
import { verifyLog } from "../../src/audit/verify.ts";
import type { AuditEvent } from "../../src/core/audit-event.ts";
import type { Identity } from "../../src/core/identity.ts";
import { createLogger } from "../../src/core/log.ts";
import { ev, newLogId, type StoreHarness, testKeys, testSigner } from "./fixtures.ts";

const DAY = 86_400_000;

function identity(subject: string, groups: string[]): Identity {
  return {
    subject,
    issuer: "https://idp.example.com",
    groups,
    kind: "human",
    method: "oidc",
    expiresAt: Date.now() + 3_600_000,
    context: { amr: ["pwd", "mfa"] },
  };
}

/** One session (start, statements, end) per entry of `times`, each in its own checkpointed commit. */
async function writeSessions(
  store: AuditStore,
  logId: string,
  signer: CheckpointSigner,
  times: number[],
  subject = "alice@example.com",
): Promise<{ writer: LogWriter; sessions: string[] }> {
  const writer = await LogWriter.open(store, logId, signer);
  const sessions: string[] = [];
  for (const [i, t] of times.entries()) {
    const sid = `${logId}-s${i}`;
    sessions.push(sid);
    const events = [
      ev(
        "session.start",
        sid,
        {
          subject,
          issuer: "https://idp.example.com",
          kind: "agent",
          connection: i % 2 ? "ledger" : "crm",
          protocol: "postgres",
          target_user: "app",
          client_addr: "127.0.0.1:5555",
          application: "psql",
        },
        t,
      ),
      ev("statement", sid, { seq: 1, text: "select 1", action: "allow", rows: 1 }, t + 1),
      ev("statement", sid, { seq: 2, text: "select 2", action: "allow", rows: 1 }, t + 2),
      ev(
        "session.end",
        sid,
        { reason: "client closed", bytes_from_client: 100, bytes_to_client: 200 },
        t + 3,
      ),
    ];
    const frames = new Map([
      [sid, [{ t: t * 1000, dir: "client" as const, kind: "Query", data: { text: "select 1" } }]],
    ]);
    const p = await writer.prepare(events, frames, true, t + 4);
    await store.commit(p.batch);
    writer.accept(p);
  }
  return { writer, sessions };
}

async function commitEvents(writer: LogWriter, store: AuditStore, events: AuditEvent[]): Promise<void> {
  const p = await writer.prepare(events, new Map(), true);
  await store.commit(p.batch);
  writer.accept(p);
}

export function evidenceConformance(name: string, setup: () => Promise<StoreHarness>): void {
  describe(`audit evidence: ${name}`, () => {
    let h: StoreHarness;
    let store: AuditStore;
    let dir: string;
    let keyFile: string;
    beforeAll(async () => {
      h = await setup();
      store = await openStore(h.url);
      dir = mkdtempSync(join(tmpdir(), "custos-trust-"));
      keyFile = join(dir, "gateway.pub");
      writeFileSync(keyFile, publicKeyFile((await testKeys).publicKeyRaw, "any"));
    }, 60_000);
    afterAll(async () => {
      await store?.close();
      await h?.close();
      rmSync(dir, { recursive: true, force: true });
    }, 30_000);

    /** What the operator took off the host: the key file and the log's newest checkpoint, as a signed note. */
    const anchorNow = async (logId: string): Promise<{ trust: Trust; file: string }> => {
      const cp = (await store.checkpoints(logId)).at(-1)!;
      const file = join(dir, `${logId}.note`);
      writeFileSync(file, signedNote(cp, (await testKeys).publicKeyRaw));
      return { trust: await trustFromFiles(keyFile, [file]), file };
    };
    const one = async (logId: string, opts: Parameters<typeof verifyLog>[1] = {}) =>
      (await verifyLog(store, { ...opts, logIds: [logId] })).logs[0]!;

    test("an untouched log verifies with the operator's key and anchored checkpoint", async () => {
      const logId = newLogId("trusted");
      await writeSessions(store, logId, await testSigner(), [1_000, 2_000]);
      const { trust } = await anchorNow(logId);
      const r = await one(logId, { trust });
      expect(r.ok).toBe(true);
      expect(r.trustedCheckpoints).toBe(1);
      expect(r.checkpoints).toBe(2);
    });

    test("cutting the tail together with its checkpoints passes on the store alone, fails with trust", async () => {
      const logId = newLogId("cut");
      const signer = await testSigner();
      await writeSessions(store, logId, signer, [1_000, 2_000, 3_000]);
      const { trust } = await anchorNow(logId);
      const head = (await store.checkpoints(logId)).at(-1)!;
      // The attacker removes the last session's events and every checkpoint that covered them.
      const keep = (await store.checkpoints(logId))[1]!.size;
      await h.exec("DELETE FROM audit_events WHERE log_id = ? AND seq >= ?", [logId, keep]);
      await h.exec("DELETE FROM recordings WHERE log_id = ? AND event_seq >= ?", [logId, keep]);
      await h.exec("DELETE FROM checkpoints WHERE log_id = ? AND size > ?", [logId, keep]);
      await h.exec("DELETE FROM sessions WHERE id = ?", [`${logId}-s2`]);
      expect((await one(logId)).ok).toBe(true); // what the issue found: the store alone cannot tell
      const withTrust = await one(logId, { trust });
      expect(withTrust.ok).toBe(false);
      expect(withTrust.firstFailure?.reason).toContain("cut from the tail");
      const withHead = await one(logId, { expect: [{ logId, head, publicKey: signer.publicKey }] });
      expect(withHead.ok).toBe(false);
      expect(withHead.firstFailure?.reason).toContain("cut from the tail");
    });

    test("a log rewritten under a new log id and key fails with trust: the original is missing, the new one untrusted", async () => {
      const logId = newLogId("orig");
      await writeSessions(store, logId, await testSigner(), [1_000, 2_000]);
      const { trust } = await anchorNow(logId);
      const forged = newLogId("forged");
      const other = await importSigner(await generateSignerKeys());
      await writeSessions(store, forged, other, [1_000, 2_000], "mallory@example.com");
      for (const table of ["audit_events", "checkpoints", "recordings", "audit_logs"]) {
        await h.exec(`DELETE FROM ${table} WHERE log_id = ?`, [logId]);
      }
      expect((await one(forged)).ok).toBe(true);
      const r = await verifyLog(store, { trust, logIds: [logId, forged] });
      expect(r.ok).toBe(false);
      const byId = new Map(r.logs.map((l) => [l.logId, l]));
      expect(byId.get(logId)?.firstFailure?.reason).toContain("missing from the store");
      expect(byId.get(forged)?.firstFailure?.reason).toContain("not by the trusted key");
      for (const table of ["audit_events", "checkpoints", "recordings", "audit_logs", "sessions"]) {
        await h.exec(`DELETE FROM ${table} WHERE log_id = ?`, [forged]);
      }
    });

    test("re-signing a rewritten log with the gateway's own key fails against the anchored checkpoint (fork)", async () => {
      const logId = newLogId("resign");
      const signer = await testSigner();
      await writeSessions(store, logId, signer, [1_000, 2_000]);
      const { trust } = await anchorNow(logId);
      // The attacker holds the data_dir key: deletes the log and writes another history under the same id.
      for (const table of ["audit_events", "checkpoints", "recordings", "sessions"]) {
        await h.exec(`DELETE FROM ${table} WHERE log_id = ?`, [logId]);
      }
      await writeSessions(store, logId, signer, [1_000, 2_000, 3_000], "mallory@example.com");
      expect((await one(logId)).ok).toBe(true);
      const r = await one(logId, { trust });
      expect(r.ok).toBe(false);
      expect(r.firstFailure?.reason).toMatch(/forked or rewritten/);
    });

    test("a re-signed log cut shorter than the anchored checkpoint fails as shorter", async () => {
      const logId = newLogId("short");
      const signer = await testSigner();
      await writeSessions(store, logId, signer, [1_000, 2_000, 3_000]);
      const { trust } = await anchorNow(logId);
      for (const table of ["audit_events", "checkpoints", "recordings", "sessions"]) {
        await h.exec(`DELETE FROM ${table} WHERE log_id = ?`, [logId]);
      }
      await writeSessions(store, logId, signer, [1_000]);
      const r = await one(logId, { trust });
      expect(r.ok).toBe(false);
      expect(r.firstFailure?.reason).toContain("cut from the tail");
    });

    test("a trusted checkpoint the store no longer holds is still checked: its root is recomputed at its size", async () => {
      const logId = newLogId("gap");
      await writeSessions(store, logId, await testSigner(), [1_000, 2_000, 3_000]);
      const middle = (await store.checkpoints(logId))[1]!;
      const file = join(dir, `${logId}.middle.note`);
      writeFileSync(file, signedNote(middle, (await testKeys).publicKeyRaw));
      const trust = await trustFromFiles(keyFile, [file]);
      await h.exec("DELETE FROM checkpoints WHERE log_id = ? AND size = ?", [logId, middle.size]);
      const ok = await one(logId, { trust });
      expect(ok.ok).toBe(true);
      expect(ok.trustedCheckpoints).toBe(1);
      // An event before it changed, and the later checkpoint re-signed over the change by the key holder:
      // the store is consistent with itself, the trusted checkpoint is not.
      const signer = await testSigner();
      const [row] = await store.readEvents(logId, 1, 1);
      const { decodeEvent, encodeEvent } = await import("../../src/audit/codec.ts");
      const original = decodeEvent(row!.body);
      const forged = encodeEvent({
        ...original,
        data: { ...original.data, text: "select 'nothing to see'" },
      });
      const { leafHash } = await import("../../src/audit/merkle.ts");
      await h.exec("UPDATE audit_events SET body = ?, leaf_hash = ? WHERE log_id = ? AND seq = 1", [
        forged,
        leafHash(forged),
        logId,
      ]);
      const { MerkleFrontier } = await import("../../src/audit/merkle.ts");
      const { signCheckpoint } = await import("../../src/audit/checkpoint.ts");
      for (const cp of await store.checkpoints(logId)) {
        const f = new MerkleFrontier();
        for (const l of await store.readLeaves(logId, 0, cp.size)) f.append(l.leafHash);
        const again = await signCheckpoint(signer, logId, cp.size, f.root(), cp.time);
        await h.exec("UPDATE checkpoints SET root_hash = ?, signature = ? WHERE log_id = ? AND size = ?", [
          again.rootHash,
          again.signature,
          logId,
          cp.size,
        ]);
      }
      expect((await one(logId)).ok).toBe(true);
      const caught = await one(logId, { trust });
      expect(caught.ok).toBe(false);
      expect(caught.firstFailure?.reason).toContain("forked or rewritten before seq");
    });

    test("a checkpoint file signed by another key is refused before the store is read", async () => {
      const logId = newLogId("badnote");
      await writeSessions(store, logId, await importSigner(await generateSignerKeys()), [1_000]);
      const cp = (await store.checkpoints(logId)).at(-1)!;
      const file = join(dir, `${logId}.bad.note`);
      writeFileSync(file, signedNote(cp, (await store.logs()).find((l) => l.logId === logId)!.publicKey));
      await expect(trustFromFiles(keyFile, [file])).rejects.toThrow("not signed by the trusted public key");
    });

    test("every projected sessions column edited in the table is caught by verify and by the views' check", async () => {
      const logId = newLogId("views");
      const { sessions } = await writeSessions(store, logId, await testSigner(), [5_000, 6_000]);
      const sid = sessions[0]!;
      const { checkSessions } = await import("../../src/audit/session-check.ts");
      const edits: [string, string, unknown][] = [
        ["subject", "subject", "mallory@example.com"],
        ["issuer", "issuer", "https://evil.example.com"],
        ["kind", "kind", "human"],
        ["connection", "connection", "payroll"],
        ["protocol", "protocol", "http"],
        ["target_user", "targetUser", "postgres"],
        ["client_addr", "clientAddr", "10.6.6.6:1"],
        ["application", "application", "innocent"],
        ["started_at", "startedAt", 4_000],
        ["ended_at", "endedAt", 9_999],
        ["end_reason", "endReason", "never happened"],
        ["statements", "statements", 0],
        ["bytes_in", "bytesIn", 1],
        ["bytes_out", "bytesOut", 1],
        ["log_id", "logId", "gw-elsewhere"],
      ];
      for (const [column, field, value] of edits) {
        const before = await store.getSession(sid);
        await h.exec(`UPDATE sessions SET ${column} = ? WHERE id = ?`, [value, sid]);
        const r = await verifyLog(store);
        const row = r.projections?.rows.find((m) => m.id === sid);
        expect({ column, fields: row?.fields }).toEqual({ column, fields: [field] });
        expect(r.ok).toBe(false);
        const [checked] = await checkSessions(store, [(await store.getSession(sid))!]);
        expect(checked?.differs).toEqual([field]);
        // Shown as the events say.
        expect((checked!.row as Record<string, unknown>)[field]).toEqual(
          (before as Record<string, unknown>)[field],
        );
        await h.exec(`UPDATE sessions SET ${column} = ? WHERE id = ?`, [
          (before as Record<string, unknown>)[field],
          sid,
        ]);
      }
      const clean = await verifyLog(store);
      expect(clean.projections?.rows.filter((m) => m.id.startsWith(logId))).toEqual([]);
      // A fabricated row, and a deleted one.
      await h.exec(
        "INSERT INTO sessions (id, log_id, subject, started_at, statements, bytes_in, bytes_out) VALUES (?, ?, ?, ?, 0, 0, 0)",
        [`${logId}-fake`, logId, "mallory@example.com", 7_000],
      );
      await h.exec("DELETE FROM sessions WHERE id = ?", [sessions[1]!]);
      const r = await verifyLog(store);
      const ids = new Map(r.projections?.rows.map((m) => [m.id, m.fields]));
      expect(ids.get(`${logId}-fake`)).toEqual(["(no session.start event in the log)"]);
      expect(ids.get(sessions[1]!)).toEqual(["(row missing: the log has this session)"]);
      await h.exec("DELETE FROM sessions WHERE id = ?", [`${logId}-fake`]);
      await h.exec(
        "INSERT INTO sessions (id, log_id, subject, issuer, kind, connection, protocol, target_user, client_addr, application, started_at, ended_at, end_reason, statements, bytes_in, bytes_out) VALUES (?, ?, 'alice@example.com', 'https://idp.example.com', 'agent', 'ledger', 'postgres', 'app', '127.0.0.1:5555', 'psql', ?, ?, 'client closed', 2, 100, 200)",
        [sessions[1]!, logId, 6_000, 6_003],
      );
      expect((await verifyLog(store)).projections?.rows.filter((m) => m.id.startsWith(logId))).toEqual([]);
    });

    test("approval rows edited in the tables (status, requester, approver, reason, deleted or forged rows) are caught", async () => {
      const logId = newLogId("appr");
      const writer = await LogWriter.open(store, logId, await testSigner());
      const events: AuditEvent[] = [];
      const repo = await openApprovalRepository(h.url);
      const service = new ApprovalService({
        repo,
        logId,
        connections: [
          {
            name: "ledger",
            mode: "request",
            approvers: ["managers"],
            minApprovals: 1,
            maxDurationMs: 3_600_000,
            reviewTimeoutMs: 60_000,
            allowGroups: ["dba"],
          },
        ],
        event: (e) => void events.push(e),
        webhook: null,
        logger: createLogger("error"),
        apiBase: "http://127.0.0.1:1",
        pollMs: 60_000,
      });
      try {
        const asked = await service.requestAccess(
          identity(`${logId}-bob`, ["dba"]),
          "ledger",
          600_000,
          "month end",
        );
        await service.decide(asked.id, identity("carol@example.com", ["managers"]), "approve", "looks right");
        const denied = await service.requestAccess(
          identity(`${logId}-eve`, ["dba"]),
          "ledger",
          600_000,
          "curious",
        );
        await service.decide(denied.id, identity("carol@example.com", ["managers"]), "deny", "no");
        const template = (await store.readApprovals("", 10_000)).find(
          (a) => a.request.id === asked.id,
        )!.request;
        await commitEvents(writer, store, events);
        // Rows older than the grace window, as they would be for an examiner looking back.
        const later = Date.now() + 120_000;
        expect(
          (await verifyLog(store, { now: later })).projections?.rows.filter(
            (m) => m.id === asked.id || m.id === denied.id,
          ),
        ).toEqual([]);
        const cases: [string, string[], string][] = [
          ["UPDATE approval_requests SET status = 'approved' WHERE id = ?", [denied.id], "status"],
          [
            "UPDATE approval_requests SET requester_subject = 'mallory' WHERE id = ?",
            [asked.id],
            "requesterSubject",
          ],
          ["UPDATE approval_requests SET reason = 'audit' WHERE id = ?", [asked.id], "reason"],
          ["UPDATE approval_requests SET duration_ms = 86400000 WHERE id = ?", [asked.id], "durationMs"],
          ["UPDATE approval_requests SET connection = 'payroll' WHERE id = ?", [asked.id], "connection"],
          ["UPDATE approval_requests SET min_approvals = 2 WHERE id = ?", [asked.id], "minApprovals"],
          [
            "UPDATE approval_requests SET approver_groups = '[\"everyone\"]' WHERE id = ?",
            [asked.id],
            "approverGroups",
          ],
          [
            "UPDATE approval_requests SET requester_groups = '[\"admins\"]' WHERE id = ?",
            [asked.id],
            "requesterGroups",
          ],
          [
            "UPDATE approval_requests SET grant_expires_at = grant_expires_at + 86400000 WHERE id = ?",
            [asked.id],
            "grantExpiresAt",
          ],
          [
            "UPDATE approval_decisions SET approver_subject = 'CFO' WHERE request_id = ?",
            [asked.id],
            "decision",
          ],
          [
            "UPDATE approval_decisions SET reason = 'approved by CFO' WHERE request_id = ?",
            [asked.id],
            "decision carol@example.com: reason",
          ],
          ["UPDATE approval_decisions SET verdict = 'approve' WHERE request_id = ?", [denied.id], "decision"],
        ];
        for (const [sql, params, field] of cases) {
          const restore = {
            request: (await store.readApprovals("", 10_000)).find((a) => a.request.id === params[0]),
          };
          await h.exec(sql, params);
          const r = await verifyLog(store, { now: later });
          const row = r.projections?.rows.find((m) => m.id === params[0]);
          expect({ sql, hit: row?.fields.some((f) => f.startsWith(field)) }).toEqual({ sql, hit: true });
          // Put the row back exactly as it was.
          const req = restore.request!;
          await h.exec("DELETE FROM approval_decisions WHERE request_id = ?", [req.request.id]);
          await h.exec("DELETE FROM approval_requests WHERE id = ?", [req.request.id]);
          await repo.create(req.request);
          for (const d of req.decisions) {
            await h.exec(
              "INSERT INTO approval_decisions (request_id, approver_subject, approver_issuer, approver_groups, amr, verdict, reason, time, log_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
              [
                d.requestId,
                d.approverSubject,
                d.approverIssuer,
                d.approverGroups,
                d.amr,
                d.verdict,
                d.reason,
                d.time,
                d.logId,
              ],
            );
          }
        }
        // A forged request nobody logged, and a deleted decision.
        await repo.create({ ...template, id: `${logId}-forged`, createdAt: 1_000 });
        await h.exec("DELETE FROM approval_decisions WHERE request_id = ?", [asked.id]);
        const r = await verifyLog(store, { now: later });
        const ids = new Map(r.projections?.rows.map((m) => [m.id, m.fields]));
        expect(ids.get(`${logId}-forged`)).toEqual(["(no request event in the log)"]);
        expect(ids.get(asked.id)?.[0]).toContain("(decision row missing)");
        await h.exec("DELETE FROM approval_requests WHERE id IN (?, ?, ?)", [
          `${logId}-forged`,
          asked.id,
          denied.id,
        ]);
        await h.exec("DELETE FROM approval_decisions WHERE request_id IN (?, ?)", [asked.id, denied.id]);
        // A request row without its event is only "not yet logged" within the grace window, not a pass.
        await repo.create({ ...template, id: `${logId}-fresh`, createdAt: Date.now() });
      } finally {
        await service.stop();
        await repo.close();
      }
      const fresh = await verifyLog(store);
      expect(fresh.projections?.approvals.pending).toBeGreaterThanOrEqual(1);
      expect(fresh.projections?.rows.some((m) => m.id === `${logId}-fresh`)).toBe(false);
      const late = await verifyLog(store, { now: Date.now() + 120_000 });
      expect(late.projections?.rows.some((m) => m.id === `${logId}-fresh`)).toBe(true);
      await h.exec("DELETE FROM approval_requests WHERE id = ?", [`${logId}-fresh`]);
    });

    test("retention prunes bodies and recordings, keeps every hash: verify stays green and reports N pruned", async () => {
      const logId = newLogId("prune");
      const now = Date.now();
      const { writer } = await writeSessions(store, logId, await testSigner(), [
        now - 500 * DAY,
        now - 100 * DAY,
        now - DAY,
      ]);
      const record = (e: AuditEvent) => commitEvents(writer, store, [e]);
      const before = await store.counts();
      const r = await pruneLog(
        store,
        logId,
        {
          defaults: { eventsMs: 400 * DAY, recordingsMs: 30 * DAY },
          connections: [{ name: "ledger", retention: { eventsMs: 50 * DAY, recordingsMs: null } }],
        },
        record,
        now,
      );
      // Session 0 (crm, 500 d): its 5 events (4 + recording.batch) past 400 d; session 1 (ledger, 100 d):
      // past ledger's 50 d. Recordings: session 0's and 1's (30 d default; ledger's follows its events).
      expect(r.events).toBe(10);
      expect(r.recordings).toBe(2);
      expect(r.rounds).toBe(1);
      expect((await store.counts()).events).toBe(before.events + 1); // only the audit.prune event was added
      const v = await one(logId);
      expect(v.ok).toBe(true);
      expect(v.pruned).toEqual({ events: 10, recordings: 2 });
      const ranges = await store.prunedRanges(logId);
      expect(ranges.events).toEqual([[0, 10]]);
      expect(ranges.recordings).toEqual([
        [4, 5],
        [9, 10],
      ]);
      // A second run finds nothing more.
      expect(
        (
          await pruneLog(
            store,
            logId,
            { defaults: { eventsMs: 400 * DAY, recordingsMs: 30 * DAY }, connections: [] },
            record,
            now,
          )
        ).events,
      ).toBe(0);
      // The views skip what retention removed instead of calling it a lie.
      const all = await verifyLog(store);
      expect(all.projections?.rows.filter((m) => m.id.startsWith(logId))).toEqual([]);
      expect((await store.sessionEvents(`${logId}-s0`)).length).toBe(0);
      // Blanking a body retention did not claim is tampering, even with pruned_at set.
      await h.exec("UPDATE audit_events SET body = ?, pruned_at = 1 WHERE log_id = ? AND seq = ?", [
        new Uint8Array(0),
        logId,
        12,
      ]);
      const t = await one(logId);
      expect(t.ok).toBe(false);
      expect(t.firstFailure?.reason).toContain("no audit.prune event claims it");
    });

    test("audit prove: an inclusion proof per event verifies; a changed leaf does not", async () => {
      const logId = newLogId("prove");
      await writeSessions(store, logId, await testSigner(), [1_000, 2_000, 3_000]);
      const key = (await testKeys).publicKeyRaw;
      const size = (await store.checkpoints(logId)).at(-1)!.size;
      for (let seq = 0; seq < size; seq++) {
        const p = await proveInclusion(store, logId, seq, key);
        expect(p.bodyMatches).toBe(true);
        expect(p.checkpoint.size).toBeGreaterThan(seq);
      }
      const last = await proveInclusion(store, logId, 0, key, size);
      expect(last.path.length).toBeGreaterThan(0);
      await h.exec("UPDATE audit_events SET leaf_hash = ? WHERE log_id = ? AND seq = ?", [
        new Uint8Array(32),
        logId,
        3,
      ]);
      await expect(proveInclusion(store, logId, 3, key)).rejects.toBeInstanceOf(ProofError);
      await expect(proveInclusion(store, logId, size + 5, key)).rejects.toThrow("has no event");
      const other = (await generateSignerKeys()).publicKeyRaw;
      await expect(proveInclusion(store, logId, 0, other)).rejects.toThrow("not signed by the given key");
    });

    test("capacity: the store reports its size", async () => {
      expect(await store.sizeBytes()).toBeGreaterThan(0);
    });

    // Last: it empties the store.
    test("deleting every row fails with trust or a data_dir head; the store alone cannot tell", async () => {
      const logId = newLogId("gone");
      const signer = await testSigner();
      await writeSessions(store, logId, signer, [1_000]);
      const { trust } = await anchorNow(logId);
      const head = (await store.checkpoints(logId)).at(-1)!;
      for (const table of [
        "audit_events",
        "checkpoints",
        "recordings",
        "sessions",
        "audit_logs",
        "approval_decisions",
        "approval_requests",
      ]) {
        await h.exec(`DELETE FROM ${table}`);
      }
      const alone = await verifyLog(store);
      expect(alone.ok).toBe(true);
      expect(alone.logs).toEqual([]);
      const withTrust = await verifyLog(store, { trust });
      expect(withTrust.ok).toBe(false);
      expect(withTrust.logs.find((l) => l.logId === logId)?.firstFailure?.reason).toContain(
        "the log was deleted",
      );
      const withHead = await verifyLog(store, { expect: [{ logId, head, publicKey: signer.publicKey }] });
      expect(withHead.ok).toBe(false);
      // Only the key, no checkpoint: an empty store is still a failure.
      const keyOnly = await verifyLog(store, { trust: { ...trust, logs: new Map() } });
      expect(keyOnly.ok).toBe(false);
      expect(keyOnly.logs[0]?.firstFailure?.reason).toContain(
        "no log in the store is signed by the trusted key",
      );
    });
  });
}
