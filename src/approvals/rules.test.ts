import { describe, expect, test } from "bun:test";
import { CustosError } from "../core/errors.ts";
import type { Identity } from "../core/identity.ts";
import type { DecisionRow, RequestRow } from "./repository.ts";
import { checkApprover, displayParams, foldVerdict, statementHash } from "./rules.ts";

const enc = (s: string) => new TextEncoder().encode(s);

const who = (subject: string, groups: string[], issuer = "https://idp"): Identity => ({
  subject,
  issuer,
  groups,
  kind: "human",
  method: "oidc",
  expiresAt: Date.now() + 60_000,
  context: {},
});

const request = (over: Partial<RequestRow> = {}): RequestRow => ({
  id: "r1",
  kind: "statement",
  status: "pending",
  connection: "ledger",
  requesterSubject: "alice",
  requesterIssuer: "https://idp",
  requesterGroups: '["dba"]',
  requesterKind: "human",
  approverGroups: '["approvers"]',
  minApprovals: 1,
  logId: "gw-1",
  sessionId: "s1",
  statementText: "update t set x = 1 where id = 1",
  statementHash: "h",
  params: null,
  rule: "custos.regulated_write",
  reason: "regulated",
  durationMs: null,
  createdAt: 1000,
  deadline: 10_000,
  decidedAt: null,
  grantExpiresAt: null,
  consumedAt: null,
  endedReason: null,
  ...over,
});

const decision = (subject: string, verdict = "approve", issuer = "https://idp"): DecisionRow => ({
  requestId: "r1",
  approverSubject: subject,
  approverIssuer: issuer,
  approverGroups: '["approvers"]',
  amr: null,
  verdict,
  reason: "ok",
  time: 2000,
  logId: "gw-1",
});

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CustosError);
    return (err as CustosError).code;
  }
  return "no error";
};

describe("statementHash", () => {
  test("binds text and every parameter; no ambiguity between splits, nulls and empty values", () => {
    const base = statementHash("select $1", [enc("1")]);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(statementHash("select $1", [enc("1")])).toBe(base);
    expect(statementHash("select $1", [enc("2")])).not.toBe(base);
    expect(statementHash("select $2", [enc("1")])).not.toBe(base);
    expect(statementHash("a", [enc("bc")])).not.toBe(statementHash("ab", [enc("c")]));
    expect(statementHash("a", [null])).not.toBe(statementHash("a", [enc("")]));
    expect(statementHash("a", [])).not.toBe(statementHash("a", null));
    expect(statementHash("a", [enc("x"), enc("y")])).not.toBe(statementHash("a", [enc("xy")]));
  });
});

describe("displayParams", () => {
  test("text as text, binary and non-UTF-8 as base64, NULL as null", () => {
    expect(displayParams([enc("42"), null, Uint8Array.of(0xff, 0x00)], [0])).toEqual([
      "42",
      null,
      { base64: "/wA=" },
    ]);
    expect(displayParams([Uint8Array.of(0, 0, 0, 1)], [1])).toEqual([{ base64: "AAAAAQ==" }]);
  });
});

describe("checkApprover", () => {
  test("a member of an approver group may decide", () => {
    expect(code(() => checkApprover(request(), who("bob", ["approvers"]), "approve"))).toBe("no error");
  });
  test("the requester may not, even as an approver or through another issuer", () => {
    expect(code(() => checkApprover(request(), who("alice", ["approvers"]), "approve"))).toBe(
      "approval.forbidden",
    );
    expect(code(() => checkApprover(request(), who("alice", ["approvers"], "custos:k"), "deny"))).toBe(
      "approval.forbidden",
    );
  });
  test("someone outside the approver groups may not", () => {
    expect(code(() => checkApprover(request(), who("carol", ["dba"]), "approve"))).toBe("approval.forbidden");
  });
  test("the grantee may revoke its own grant; others need the approver group", () => {
    const grant = request({ kind: "access", status: "approved", grantExpiresAt: 99_000 });
    expect(code(() => checkApprover(grant, who("alice", ["dba"]), "revoke"))).toBe("no error");
    expect(code(() => checkApprover(grant, who("carol", ["dba"]), "revoke"))).toBe("approval.forbidden");
  });
});

describe("foldVerdict", () => {
  const bob = who("bob", ["approvers"]);
  test("one approval approves at min_approvals 1", () => {
    expect(foldVerdict(request(), [], "approve", bob, 5000)).toEqual({ status: "approved", decidedAt: 5000 });
  });
  test("min_approvals 2 needs two distinct approvers; the same one twice is refused", () => {
    const r = request({ minApprovals: 2 });
    expect(foldVerdict(r, [], "approve", bob, 5000)).toEqual({});
    expect(code(() => foldVerdict(r, [decision("bob")], "approve", bob, 5000))).toBe("approval.conflict");
    expect(foldVerdict(r, [decision("bob")], "approve", who("dave", ["approvers"]), 5000)).toEqual({
      status: "approved",
      decidedAt: 5000,
    });
  });
  test("one denial denies", () => {
    const r = request({ minApprovals: 2 });
    expect(foldVerdict(r, [decision("bob")], "deny", who("dave", []), 5000)).toEqual({
      status: "denied",
      decidedAt: 5000,
    });
  });
  test("nothing after the deadline or once decided", () => {
    expect(code(() => foldVerdict(request(), [], "approve", bob, 10_001))).toBe("approval.conflict");
    expect(code(() => foldVerdict(request({ status: "denied" }), [], "approve", bob, 5000))).toBe(
      "approval.conflict",
    );
  });
  test("an approved access request starts a grant of its duration; a live grant can be revoked", () => {
    const r = request({ kind: "access", durationMs: 60_000 });
    expect(foldVerdict(r, [], "approve", bob, 5000)).toEqual({
      status: "approved",
      decidedAt: 5000,
      grantExpiresAt: 65_000,
    });
    const live = request({ kind: "access", status: "approved", grantExpiresAt: 65_000 });
    expect(foldVerdict(live, [], "revoke", bob, 6000)).toEqual({ status: "revoked", endedReason: "revoked" });
    expect(code(() => foldVerdict(live, [], "revoke", bob, 70_000))).toBe("approval.conflict");
    expect(code(() => foldVerdict(request(), [], "revoke", bob, 6000))).toBe("approval.conflict");
  });
});
