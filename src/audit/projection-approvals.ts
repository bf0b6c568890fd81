// The approval tables as projections of the approval.* / access.* events (approvals/service.ts emits one
// for every change): the request as asked, its status as the last status-bearing event left it, and one
// decision row per logged decision. Fields an older event did not carry are not compared.
import type { AuditEvent } from "../core/audit-event.ts";
import type { ProjectionMismatch, ProjectionReport } from "./projection.ts";
import type { ApprovalDecisionRow, ApprovalRequestRow, AuditStore } from "./store.ts";

interface RequestFold {
  asked: Partial<Record<keyof ApprovalRequestRow, unknown>>;
  status: string;
  consumed: boolean;
  grantExpiresAt: number | undefined;
  decisions: Map<string, Partial<Record<keyof ApprovalDecisionRow, unknown>>>;
  lastTime: number;
}

export interface ApprovalFold {
  add(e: AuditEvent): void;
  prunedUpTo(time: number): void;
  requests: Map<string, RequestFold>;
  prunedBefore: number;
}

/** A change to an approval row reaches the log a moment later (the recorder flushes): not yet a lie. */
export const APPROVAL_LOG_GRACE_MS = 30_000;

/** Key order never changes meaning: JSON with sorted keys, for columns stored as JSON text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

const jsonText = (v: unknown) => (v === undefined ? undefined : v === null ? null : canonicalJson(v));
const decisionKey = (issuer: unknown, subject: unknown, verdict: unknown) =>
  `${String(issuer)}\u0000${String(subject)}\u0000${String(verdict)}`;

/** Events whose status field (or type) moves a request to a status. */
const STATUS_OF_TYPE: Record<string, string> = {
  "approval.expired": "expired",
  "approval.abandoned": "abandoned",
  "approval.denied": "denied",
  "access.grant_expired": "expired",
  "access.revoked": "revoked",
};

export function approvalFold(): ApprovalFold {
  const requests = new Map<string, RequestFold>();
  const fold: ApprovalFold = {
    requests,
    prunedBefore: 0,
    prunedUpTo(time) {
      fold.prunedBefore = Math.max(fold.prunedBefore, time);
    },
    add(e) {
      if (!e.type.startsWith("approval.") && !e.type.startsWith("access.")) return;
      const d = e.data as Record<string, unknown>;
      const id = typeof d.request_id === "string" ? d.request_id : null;
      if (!id) return;
      if (e.type === "approval.requested" || e.type === "access.requested") {
        const asked: RequestFold["asked"] = {
          kind: d.kind,
          connection: d.connection,
          requesterSubject: d.requester,
          requesterIssuer: d.requester_issuer,
          statementHash: d.statement_hash ?? null,
          sessionId: e.sessionId ?? null,
          reason: d.reason,
        };
        if (e.type === "approval.requested") {
          Object.assign(asked, {
            statementText: d.text ?? null,
            params: d.params === undefined ? null : jsonText(d.params),
            rule: d.rule ?? null,
            minApprovals: d.min_approvals,
            approverGroups: jsonText(d.approvers),
            deadline: d.deadline,
          });
        } else asked.durationMs = d.duration_ms;
        // Carried since the evidence issue; older events leave them unchecked.
        if (d.created_at !== undefined) asked.createdAt = d.created_at;
        if (d.requester_groups !== undefined) asked.requesterGroups = jsonText(d.requester_groups);
        if (d.requester_kind !== undefined) asked.requesterKind = d.requester_kind;
        if (d.approvers !== undefined) asked.approverGroups = jsonText(d.approvers);
        if (d.min_approvals !== undefined) asked.minApprovals = d.min_approvals;
        if (d.deadline !== undefined) asked.deadline = d.deadline;
        const have = requests.get(id);
        requests.set(id, {
          asked,
          status: have?.status ?? "pending",
          consumed: have?.consumed ?? false,
          grantExpiresAt: have?.grantExpiresAt,
          decisions: have?.decisions ?? new Map(),
          lastTime: Math.max(have?.lastTime ?? 0, e.time),
        });
        return;
      }
      let r = requests.get(id);
      if (!r) {
        r = {
          asked: {},
          status: "pending",
          consumed: false,
          grantExpiresAt: undefined,
          decisions: new Map(),
          lastTime: 0,
        };
        requests.set(id, r);
      }
      r.lastTime = Math.max(r.lastTime, e.time);
      if (e.type === "approval.decision" || e.type === "access.decision") {
        if (typeof d.status === "string") r.status = d.status;
        if (typeof d.grant_expires_at === "number") r.grantExpiresAt = d.grant_expires_at;
        const dec: Partial<Record<keyof ApprovalDecisionRow, unknown>> = {
          approverSubject: d.approver,
          approverIssuer: d.approver_issuer,
          approverGroups: jsonText(d.approver_groups ?? []),
          amr: d.amr === undefined ? null : jsonText(d.amr),
          verdict: d.verdict,
          reason: d.reason,
        };
        if (d.decided_at !== undefined) dec.time = d.decided_at;
        r.decisions.set(decisionKey(d.approver_issuer, d.approver, d.verdict), dec);
      } else if (e.type === "approval.approved") {
        r.status = "approved";
        r.consumed = true;
      } else if (e.type === "access.granted") {
        if (typeof d.grant_expires_at === "number") r.grantExpiresAt = d.grant_expires_at;
      } else if (STATUS_OF_TYPE[e.type]) {
        r.status = STATUS_OF_TYPE[e.type]!;
      }
    },
  };
  return fold;
}

/** Differences a row can show for a moment before its event is committed (the recorder flushes). */
function mayLag(field: string): boolean {
  return (
    field === "status" ||
    field === "consumedAt" ||
    field === "grantExpiresAt" ||
    // A decision row written a moment before its decision event.
    field.endsWith(": (not in the log)")
  );
}

function differing(row: Record<string, unknown>, want: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(want)) {
    if (v === undefined) continue;
    const have = row[k] ?? null;
    const a =
      typeof have === "string" && (k.endsWith("Groups") || k === "params" || k === "amr")
        ? jsonText(safeParse(have))
        : have;
    if (a !== (v ?? null)) out.push(k);
  }
  return out;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Compares every approval request and decision row with the fold; rows newer than the grace are pending. */
export async function compareApproval(
  store: AuditStore,
  fold: ApprovalFold,
  now: number,
  report: ProjectionReport,
  flag: (m: ProjectionMismatch) => void,
): Promise<void> {
  const seen = new Set<string>();
  for (let after = ""; ; ) {
    const page = await store.readApprovals(after, 500);
    if (page.length === 0) break;
    for (const { request: row, decisions } of page) {
      seen.add(row.id);
      report.approvals.checked++;
      const touched = Math.max(
        row.createdAt,
        row.decidedAt ?? 0,
        row.consumedAt ?? 0,
        ...decisions.map((d) => d.time),
      );
      const recent = touched > now - APPROVAL_LOG_GRACE_MS && touched <= now + 1000;
      const f = fold.requests.get(row.id);
      if (!f || Object.keys(f.asked).length === 0) {
        if (row.createdAt <= fold.prunedBefore) report.approvals.unverifiable++;
        else if (recent) report.approvals.pending++;
        else {
          report.approvals.mismatched++;
          flag({ table: "approval_requests", id: row.id, fields: ["(no request event in the log)"] });
        }
        continue;
      }
      const want: Record<string, unknown> = { ...f.asked, status: f.status };
      if (f.grantExpiresAt !== undefined) want.grantExpiresAt = f.grantExpiresAt;
      const fields = differing(row as unknown as Record<string, unknown>, want);
      if (f.consumed !== (row.consumedAt != null) && row.kind === "statement") fields.push("consumedAt");
      const byKey = new Map(
        decisions.map((d) => [decisionKey(d.approverIssuer, d.approverSubject, d.verdict), d]),
      );
      for (const [key, dec] of f.decisions) {
        const d = byKey.get(key);
        const bad = d ? differing(d as unknown as Record<string, unknown>, dec) : ["(decision row missing)"];
        if (bad.length) fields.push(...bad.map((b) => `decision ${String(dec.approverSubject)}: ${b}`));
        byKey.delete(key);
      }
      for (const d of byKey.values()) fields.push(`decision ${d.approverSubject}: (not in the log)`);
      if (fields.length === 0) continue;
      // Only what the log may not have caught up with yet is forgiven for a fresh row; a value that
      // contradicts an event already logged is a lie however fresh.
      if (recent && fields.every(mayLag)) report.approvals.pending++;
      else {
        report.approvals.mismatched++;
        flag({ table: "approval_requests", id: row.id, fields });
      }
    }
    after = page.at(-1)!.request.id;
  }
  for (const [id, f] of fold.requests) {
    if (!seen.has(id) && Object.keys(f.asked).length > 0) {
      report.approvals.mismatched++;
      flag({ table: "approval_requests", id, fields: ["(row missing: the log has this request)"] });
    }
  }
}
