// `audit verify`: recomputes every leaf and root from the stored bodies, checks seqs are contiguous, every
// checkpoint's signature and that each checkpoint extends the previous one (RFC 6962 consistency proofs),
// and every recording against the SHA-256 its recording.batch event carries. Given the operator's trust
// (keys and checkpoints from anchors outside the host), the store's log must also reach, and agree with,
// every trusted checkpoint, under the trusted key only. Pruned bodies keep their leaf hashes and must be
// claimed by a logged audit.prune event. Then the sessions and approvals projections are recomputed from
// the events (projection.ts). Streams in pages.
import type { AuditEvent } from "../core/audit-event.ts";
import { CustosError } from "../core/errors.ts";
import { verifyCheckpoint } from "./checkpoint.ts";
import { hex } from "./codec.ts";
import { bytesEqual, MerkleFrontier } from "./merkle.ts";
import { type ProjectionReport, Projections } from "./projection.ts";
import { PruneClaims } from "./prune-claims.ts";
import { type AuditStore, type CheckpointRow, describe, type EventRow, type LogRow } from "./store.ts";
import type { Trust } from "./trust.ts";
import {
  type Covered,
  checkCheckpointRow,
  checkConsistency,
  checkEvent,
  checkRecordings,
  checkRoot,
  Failed,
  type VerifyFailure,
} from "./verify-checks.ts";
import { describeValue, logMisfit } from "./verify-rows.ts";

export type { VerifyFailure } from "./verify-checks.ts";

export interface LogReport {
  logId: string;
  events: number;
  checkpoints: number;
  recordings: number;
  /** Events after the last checkpoint: intact as far as leaves go, but not yet covered by a signature. */
  uncheckpointed: number;
  /** Event bodies and recording payloads removed by retention (their hashes verified). */
  pruned: { events: number; recordings: number };
  /** Checkpoints from outside the store (operator, anchor, data_dir head) this log was checked against. */
  trustedCheckpoints: number;
  ok: boolean;
  firstFailure?: VerifyFailure;
}

export interface VerifyReport {
  ok: boolean;
  logs: LogReport[];
  /** The sessions and approvals tables against the events; absent when projections were not checked. */
  projections?: ProjectionReport;
  /** Where trust came from ("store" when only the store's own keys were used). */
  trust: string;
}

export interface ExpectedLog {
  logId: string;
  /** The newest checkpoint known from outside the store (data_dir head); null: none known. */
  head: CheckpointRow | null;
  publicKey?: Uint8Array;
}

export interface VerifyOptions {
  /** The gateway key the auditor trusts; a stored key that differs fails the log. */
  trustedPublicKey?: Uint8Array;
  /** The operator's keys and checkpoints: every log must be under these keys and reach these checkpoints. */
  trust?: Trust;
  /** Logs that must be in the store (this gateway's own, known from its data_dir), with a head to reach. */
  expect?: ExpectedLog[];
  /** Only these logs (default: every log in the store). */
  logIds?: string[];
  /** Recompute the sessions and approvals tables from the events (default true). */
  projections?: boolean;
  pageSize?: number;
  now?: number;
}

export async function verifyLog(store: AuditStore, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const wanted = (id: string) => !opts.logIds || opts.logIds.includes(id);
  const logs = (await store.logs()).filter((l) => wanted(l.logId));
  const projections = new Projections();
  const claims = new PruneClaims();
  const reports: LogReport[] = [];
  const prunedByLog = new Map<string, LogPruned>();
  for (const log of logs) {
    if (typeof log.logId !== "string") {
      const id = `(log_id ${describeValue(log.logId)})`;
      reports.push({ ...empty(id), ok: false, firstFailure: { reason: `audit_logs: ${logMisfit(log)}` } });
      continue;
    }
    const r = await verifyOne(store, log, opts, projections, claims);
    reports.push(r.report);
    prunedByLog.set(log.logId, r.pruned);
  }
  const missing = (id: string, why: string) => {
    if (!wanted(id) || reports.some((r) => r.logId === id)) return;
    reports.push({ ...empty(id), ok: false, firstFailure: { reason: why } });
  };
  for (const t of opts.trust?.logs.values() ?? []) {
    const top = t.checkpoints.at(-1)?.size ?? 0;
    missing(
      t.logId,
      `log ${t.logId} is missing from the store, but a trusted checkpoint says it had ${top} events: the log was deleted`,
    );
  }
  for (const e of opts.expect ?? []) {
    if (e.head) {
      missing(
        e.logId,
        `log ${e.logId} is missing from the store, but this gateway signed it up to ${e.head.size} events: the log was deleted`,
      );
    }
  }
  for (const id of opts.logIds ?? []) missing(id, `log ${id} not found in the store`);
  if (opts.trust && reports.length === 0) {
    reports.push({
      ...empty("(none)"),
      ok: false,
      firstFailure: { reason: "no log in the store is signed by the trusted key" },
    });
  }
  // Every pruned body must be claimed by an audit.prune event (from any log: the CLI prunes from its own).
  for (const r of reports) {
    const pruned = prunedByLog.get(r.logId);
    if (!r.ok || !pruned) continue;
    const gap = claims.unclaimed(r.logId, pruned.events, pruned.recordings);
    if (gap) {
      r.ok = false;
      r.firstFailure = {
        seq: gap.seq,
        reason: `${gap.what} at seq ${gap.seq} has no body, and no audit.prune event claims it: removed outside retention`,
      };
    }
  }
  const report: VerifyReport = {
    ok: reports.every((r) => r.ok),
    logs: reports,
    trust: opts.trust ? opts.trust.source : opts.expect?.some((e) => e.head) ? "data_dir" : "store",
  };
  if (opts.projections !== false && !opts.logIds) {
    report.projections = await projections.check(store, {
      verifiedUpTo: new Map(reports.map((r) => [r.logId, r.events])),
      now: opts.now ?? Date.now(),
    });
    if (!report.projections.ok) report.ok = false;
  }
  return report;
}

const empty = (logId: string): LogReport => ({
  logId,
  events: 0,
  checkpoints: 0,
  recordings: 0,
  uncheckpointed: 0,
  pruned: { events: 0, recordings: 0 },
  trustedCheckpoints: 0,
  ok: true,
});

interface LogPruned {
  events: number[];
  recordings: number[];
}

/** Stored checkpoints and trusted ones in size order; a trusted one the store contradicts is a fork. */
function mergeCheckpoints(stored: CheckpointRow[], trusted: CheckpointRow[]) {
  const bySize = new Map<number, { cp: CheckpointRow; trusted: boolean }>();
  for (const cp of stored) bySize.set(cp.size, { cp, trusted: false });
  for (const cp of trusted) {
    const have = bySize.get(cp.size);
    if (have && !bytesEqual(have.cp.rootHash, cp.rootHash)) {
      throw new Failed({
        size: cp.size,
        reason: `the store's checkpoint at size ${cp.size} differs from the trusted one: the log was forked or rewritten`,
      });
    }
    bySize.set(cp.size, { cp, trusted: true });
  }
  return [...bySize.values()].sort((a, b) => a.cp.size - b.cp.size);
}

async function verifyOne(
  store: AuditStore,
  log: LogRow,
  opts: VerifyOptions,
  projections: Projections,
  claims: PruneClaims,
): Promise<{ report: LogReport; pruned: LogPruned }> {
  const { logId, publicKey: storedKey } = log;
  const report = empty(logId);
  const pruned: LogPruned = { events: [], recordings: [] };
  const pageSize = opts.pageSize ?? 5_000;
  const frontier = new MerkleFrontier();
  try {
    const misfit = logMisfit(log);
    if (misfit) throw new Failed({ reason: `audit_logs row of ${logId}: ${misfit}` });
    const trustedLog = opts.trust?.logs.get(logId);
    const expected = opts.expect?.find((e) => e.logId === logId);
    const pinned = opts.trustedPublicKey ?? expected?.publicKey;
    const keys = opts.trust ? (trustedLog?.keys ?? opts.trust.keys) : pinned ? [pinned] : [storedKey];
    const key = keys.find((k) => bytesEqual(k, storedKey));
    if (!key) {
      throw new Failed({
        reason: `log is signed by ${hex(storedKey)}, not by the trusted key: rewritten under another key, or another gateway's log`,
      });
    }
    const trustedCps = [...(trustedLog?.checkpoints ?? []), ...(expected?.head ? [expected.head] : [])];
    report.trustedCheckpoints = new Set(trustedCps.map((c) => c.size)).size;
    const stored = await store.checkpoints(logId);
    for (const cp of stored) checkCheckpointRow(cp);
    report.checkpoints = stored.length;
    const cps = mergeCheckpoints(stored, trustedCps);
    const signed = async (cp: CheckpointRow) => {
      if (!(await verifyCheckpoint(key, cp))) {
        throw new Failed({
          size: cp.size,
          reason: `checkpoint at size ${cp.size}: signature does not verify`,
        });
      }
    };
    let sinceCheckpoint: Uint8Array[] = [];
    let prev: Covered | null = null;
    let next = 0;
    while (next < cps.length && cps[next]!.cp.size === 0) next++;
    for (let page = await store.readEvents(logId, 0, pageSize); page.length > 0; ) {
      const from = frontier.size;
      const recordingEvents = new Map<number, { row: EventRow; decoded: AuditEvent }>();
      const prunedHere = new Set<number>();
      for (const e of page) {
        const decoded = checkEvent(e, frontier.size);
        if (decoded === null) {
          pruned.events.push(e.seq);
          prunedHere.add(e.seq);
          projections.pruned(e);
        } else {
          if (e.type === "recording.batch") recordingEvents.set(e.seq, { row: e, decoded });
          if (e.type === "audit.prune") claims.add(decoded);
          projections.add(logId, e.seq, decoded);
        }
        frontier.append(e.leafHash);
        sinceCheckpoint.push(e.leafHash);
        const at = cps[next];
        if (at && at.cp.size === frontier.size) {
          await signed(at.cp);
          checkRoot(at.cp, frontier, prev, at.trusted);
          if (prev) checkConsistency(prev.cp, prev.frontier, at.cp, sinceCheckpoint);
          prev = { cp: at.cp, frontier: frontier.clone() };
          sinceCheckpoint = [];
          next++;
        }
      }
      const recordings = await store.recordingsByEventSeq(logId, from, frontier.size);
      const tally = checkRecordings(recordings, recordingEvents, prunedHere);
      report.recordings += tally.checked;
      report.pruned.recordings += tally.pruned;
      for (const r of recordings)
        if (r.prunedAt != null && !prunedHere.has(r.eventSeq)) pruned.recordings.push(r.eventSeq);
      page = await store.readEvents(logId, frontier.size, pageSize);
    }
    report.events = frontier.size;
    report.pruned.events = pruned.events.length;
    const beyond = cps[next];
    if (beyond) {
      await signed(beyond.cp);
      throw new Failed({
        size: beyond.cp.size,
        reason: beyond.trusted
          ? `the store's log has ${frontier.size} events but a trusted checkpoint says ${beyond.cp.size}: events were cut from the tail`
          : `checkpoint at size ${beyond.cp.size} but the log ends at ${frontier.size}: events were deleted from the tail`,
      });
    }
    report.uncheckpointed = frontier.size - (prev?.cp.size ?? 0);
    const count = await store.countRecordings(logId);
    if (count !== report.recordings) {
      throw new Failed({
        reason: `${count - report.recordings} recording(s) have no recording.batch event in the log`,
      });
    }
  } catch (err) {
    // The store being unreachable is not a finding; anything else a stored row made go wrong is, at the row
    // being checked (the checks above name the known shapes; this keeps an unforeseen one from a crash).
    if (err instanceof CustosError) throw err;
    report.ok = false;
    report.firstFailure =
      err instanceof Failed
        ? err.failure
        : { seq: frontier.size, reason: `seq ${frontier.size}: cannot be verified: ${describe(err)}` };
  }
  return { report, pruned };
}
