// The rules of approving, as pure functions: what an approval binds to (statement hash), who may decide
// (approver groups, never the requester), and how a decision moves a request (min_approvals distinct
// approvers, any denial denies, nothing after the deadline).
import { createHash } from "node:crypto";
import { CustosError } from "../core/errors.ts";
import type { Identity } from "../core/identity.ts";
import type { DecisionRow, RequestRow } from "./repository.ts";

export type Verdict = "approve" | "deny" | "revoke";

/**
 * SHA-256 over the statement text and each bind parameter, length-prefixed so no two different
 * (text, params) pairs share an input: the exact statement and values an approval releases.
 */
export function statementHash(text: string, params: readonly (Uint8Array | null)[] | null): string {
  const h = createHash("sha256");
  const len = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const body = Buffer.from(text, "utf8");
  h.update(len(body.length)).update(body);
  if (params === null) h.update(len(-2));
  else {
    h.update(len(params.length));
    for (const p of params) {
      if (p === null) h.update(len(-1));
      else h.update(len(p.length)).update(p);
    }
  }
  return h.digest("hex");
}

/** Bind parameters as an approver reads them: UTF-8 text when it is, base64 otherwise. */
export function displayParams(
  params: readonly (Uint8Array | null)[],
  formats: readonly number[] = [],
): (string | null | { base64: string })[] {
  return params.map((p, i) => {
    if (p === null) return null;
    const binary = (formats.length === 1 ? formats[0] : formats[i]) === 1;
    if (!binary) {
      try {
        return new TextDecoder("utf-8", { fatal: true }).decode(p);
      } catch {
        // not UTF-8: shown as bytes below
      }
    }
    return { base64: Buffer.from(p).toString("base64") };
  });
}

const sameIdentity = (subject: string, issuer: string, id: Pick<Identity, "subject" | "issuer">) =>
  subject === id.subject && issuer === id.issuer;

/** Throws unless `approver` may give `verdict` on `request`. */
export function checkApprover(request: RequestRow, approver: Identity, verdict: Verdict): void {
  // The requester never decides its own request, whichever issuer it comes back through.
  if (request.requesterSubject === approver.subject && verdict !== "revoke") {
    throw new CustosError("approval.forbidden", "you cannot approve or deny your own request", {
      request: request.id,
    });
  }
  const groups = JSON.parse(request.approverGroups) as string[];
  const revokingOwn =
    verdict === "revoke" && sameIdentity(request.requesterSubject, request.requesterIssuer, approver);
  if (!revokingOwn && !approver.groups.some((g) => groups.includes(g))) {
    throw new CustosError(
      "approval.forbidden",
      `only members of ${groups.join(", ")} may decide this request`,
      {
        request: request.id,
        groups: approver.groups,
      },
    );
  }
}

/** The columns a verdict changes, or a CustosError when the request cannot take it now. */
export function foldVerdict(
  request: RequestRow,
  decisions: DecisionRow[],
  verdict: Verdict,
  approver: Pick<Identity, "subject" | "issuer">,
  now: number,
): Partial<RequestRow> {
  if (verdict === "revoke") {
    if (request.kind !== "access" || request.status !== "approved" || (request.grantExpiresAt ?? 0) <= now) {
      throw new CustosError("approval.conflict", `request ${request.id} is not a live access grant`);
    }
    return { status: "revoked", endedReason: "revoked" };
  }
  if (request.status !== "pending") {
    throw new CustosError("approval.conflict", `request ${request.id} is already ${request.status}`);
  }
  if (now > request.deadline) {
    throw new CustosError("approval.conflict", `request ${request.id} has expired`);
  }
  if (decisions.some((d) => sameIdentity(d.approverSubject, d.approverIssuer, approver))) {
    throw new CustosError("approval.conflict", `you have already decided request ${request.id}`);
  }
  if (verdict === "deny") return { status: "denied", decidedAt: now };
  const approvals = new Set(
    decisions.filter((d) => d.verdict === "approve").map((d) => `${d.approverIssuer}\n${d.approverSubject}`),
  );
  approvals.add(`${approver.issuer}\n${approver.subject}`);
  if (approvals.size < request.minApprovals) return {};
  const patch: Partial<RequestRow> = { status: "approved", decidedAt: now };
  if (request.kind === "access") patch.grantExpiresAt = now + (request.durationMs ?? 0);
  return patch;
}
