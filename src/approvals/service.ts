// The approvals service: statement reviews a session waits on, just-in-time access requests and grants,
// and the decisions on both. State lives in the audit store (repository); every step is also an audit event
// tied to the session and statement; a change made through another gateway arrives by NOTIFY (PostgreSQL)
// or by polling (embedded store).
import { randomBytes } from "node:crypto";
import type { AuditEvent } from "../core/audit-event.ts";
import type { Command } from "../core/command.ts";
import type { Decision } from "../core/decision.ts";
import { CustosError } from "../core/errors.ts";
import type { Identity } from "../core/identity.ts";
import type { Logger } from "../core/log.ts";
import type { ApprovalRepository, RequestRow, RequestStatus, RequestView } from "./repository.ts";
import { checkApprover, displayParams, foldVerdict, statementHash, type Verdict } from "./rules.ts";
import type { Webhook } from "./webhook.ts";

export interface ConnectionAccess {
  name: string;
  mode: "standing" | "request";
  approvers: string[];
  minApprovals: number;
  maxDurationMs: number;
  reviewTimeoutMs: number;
  /** Identities allowed to open the connection (and so to ask for access to it). */
  allowGroups: string[];
}

export interface ApprovalServiceOptions {
  repo: ApprovalRepository;
  /** This gateway instance's log id: the holder of its statement reviews. */
  logId: string;
  connections: ConnectionAccess[];
  event(e: AuditEvent): void;
  webhook: Webhook | null;
  logger: Logger;
  /** Base of the links approvers get: listen.public_url, or derived from listen.http (config/public-url.ts). */
  apiBase: string;
  /** Poll interval for changes made elsewhere: always for the embedded store, as a fallback for PostgreSQL. */
  pollMs?: number;
}

export interface ReviewRequest {
  sessionId: string;
  identity: Identity;
  connection: string;
  command: Command;
  decision: Decision;
  /** Extended protocol: the bind parameters of the execution held; null for a simple query. */
  params: (Uint8Array | null)[] | null;
  paramFormats?: number[];
  notify(notice: { requestId: string; message: string; hint: string }): void;
}

export interface PendingReview {
  decision: Promise<Decision>;
  /** The session ended while waiting: the request is abandoned. */
  cancel(reason: string): void;
}

export interface Grant {
  id: string;
  expiresAt: number;
}

const TERMINAL = new Set<RequestStatus>(["approved", "denied", "expired", "abandoned", "revoked"]);
/** An access request nobody decides within this long expires. */
const ACCESS_REQUEST_TTL_MS = 24 * 3_600_000;

interface Waiter {
  sessionId: string;
  settle(row: RequestView | undefined): void;
}

interface GrantWatch {
  expiresAt: number;
  timer: ReturnType<typeof setTimeout>;
  listeners: Set<(err: CustosError) => void>;
}

const newId = () => randomBytes(8).toString("hex");

export class ApprovalService {
  private readonly byName: Map<string, ConnectionAccess>;
  private readonly waiters = new Map<string, Waiter>();
  private readonly grants = new Map<string, GrantWatch>();
  private poller: ReturnType<typeof setInterval> | null = null;
  private stopped = false;

  constructor(private readonly opts: ApprovalServiceOptions) {
    this.byName = new Map(opts.connections.map((c) => [c.name, c]));
  }

  /** Abandons what this instance held before a restart, then starts hearing about changes. */
  async start(): Promise<void> {
    const now = Date.now();
    for (const r of await this.opts.repo.abandonPending(this.opts.logId, now)) {
      this.emit("approval.abandoned", r, { reason: "gateway restarted while the statement waited" });
    }
    const pushed = await this.opts.repo
      .listen((id) => void this.changed(id))
      .catch((err) => {
        this.opts.logger.warn("approvals: LISTEN failed; polling only", { error: String(err) });
        return false;
      });
    const every = this.opts.pollMs ?? (pushed ? 2000 : 250);
    this.poller = setInterval(() => void this.poll(), every);
  }

  access(connection: string): ConnectionAccess | undefined {
    return this.byName.get(connection);
  }

  // --- statement review ---------------------------------------------------------------------------------

  review(req: ReviewRequest): PendingReview {
    let cancelled: string | null = null;
    let id: string | null = null;
    const decision = this.runReview(req, (rid) => {
      id = rid;
      return cancelled;
    });
    return {
      decision,
      cancel: (reason) => {
        cancelled = reason;
        if (id) void this.abandon(id, reason);
      },
    };
  }

  private async runReview(req: ReviewRequest, started: (id: string) => string | null): Promise<Decision> {
    const c = this.byName.get(req.connection);
    if (!c || c.approvers.length === 0) {
      return refusal(
        "custos.approval_unavailable",
        `no approvers are configured for connection "${req.connection}"`,
      );
    }
    const now = Date.now();
    const id = newId();
    const hash = statementHash(req.command.text, req.params);
    const row: RequestRow = {
      id,
      kind: "statement",
      status: "pending",
      connection: c.name,
      requesterSubject: req.identity.subject,
      requesterIssuer: req.identity.issuer,
      requesterGroups: JSON.stringify(req.identity.groups),
      requesterKind: req.identity.kind,
      approverGroups: JSON.stringify(c.approvers),
      minApprovals: c.minApprovals,
      logId: this.opts.logId,
      sessionId: req.sessionId,
      statementText: req.command.text,
      statementHash: hash,
      params: req.params ? JSON.stringify(displayParams(req.params, req.paramFormats)) : null,
      rule: req.decision.rule,
      reason: req.decision.reason,
      durationMs: null,
      createdAt: now,
      deadline: now + c.reviewTimeoutMs,
      decidedAt: null,
      grantExpiresAt: null,
      consumedAt: null,
      endedReason: null,
    };
    try {
      await this.opts.repo.create(row);
    } catch (err) {
      this.opts.logger.error("approvals: cannot store a review request", { error: String(err) });
      return refusal("custos.approval_unavailable", "the approval store is unavailable");
    }
    const outcome = new Promise<RequestView | undefined>((settle) =>
      this.waiters.set(id, { sessionId: req.sessionId, settle }),
    );
    this.emit("approval.requested", row, {
      ...askedColumns(row),
      text: row.statementText,
      params: row.params ? JSON.parse(row.params) : undefined,
      rule: row.rule,
      reason: row.reason,
      min_approvals: row.minApprovals,
      approvers: c.approvers,
      deadline: row.deadline,
    });
    req.notify({
      requestId: id,
      message: `statement held for approval: request ${id} (${req.decision.reason}; waiting up to ${Math.round(c.reviewTimeoutMs / 1000)} s)`,
      hint: `An approver runs: ./custos approve ${id} --reason "…" --token <approver token>   or POST ${this.opts.apiBase}/api/approvals/${id}/approve`,
    });
    this.webhook("request.created", row, `Statement waiting for approval on ${row.connection}`);
    const early = started(id);
    if (early !== null) void this.abandon(id, early);
    const timer = setTimeout(() => void this.expire(id), Math.max(0, row.deadline - Date.now()));
    const final = await outcome;
    clearTimeout(timer);
    this.waiters.delete(id);
    return this.outcome(final, row);
  }

  /** Turns the request's final state into the decision the session enforces; an approval is used once. */
  private async outcome(final: RequestView | undefined, asked: RequestRow): Promise<Decision> {
    if (!final) return refusal("custos.approval_unavailable", `request ${asked.id} could not be read`);
    const who = final.decisions.map((d) => `${d.approverSubject} (${d.reason})`).join(", ");
    switch (final.status) {
      case "approved": {
        // The approval is bound to this session and this exact statement, and released once.
        const bound = final.sessionId === asked.sessionId && final.statementHash === asked.statementHash;
        const consumed = bound && (await this.opts.repo.consume(final.id, Date.now()).catch(() => false));
        if (!consumed) {
          return refusal(
            "custos.approval_unavailable",
            `request ${final.id} cannot be used for this statement`,
          );
        }
        this.emit("approval.approved", final, { approvers: approverList(final) });
        return {
          action: "allow",
          reason: `approved by ${who}`,
          rule: asked.rule ?? "custos.review",
          record: "sync",
          mask: [],
          approval: { id: final.id, status: "approved" },
        };
      }
      case "denied":
        this.emit("approval.denied", final, { approvers: approverList(final) });
        return refusal("custos.approval_denied", `request ${final.id} denied by ${who}`, final.id, "denied");
      case "expired":
        this.emit("approval.expired", final, {});
        return refusal(
          "custos.approval_timeout",
          `request ${final.id} was not approved in time`,
          final.id,
          "expired",
        );
      default:
        this.emit("approval.abandoned", final, { reason: final.endedReason });
        return refusal(
          "custos.approval_abandoned",
          `request ${final.id} was abandoned`,
          final.id,
          "abandoned",
        );
    }
  }

  private async expire(id: string): Promise<void> {
    await this.opts.repo
      .transition(id, "pending", {
        status: "expired",
        decidedAt: Date.now(),
        endedReason: "review timed out",
      })
      .catch((err) => this.opts.logger.warn("approvals: expiry failed", { error: String(err) }));
    const row = await this.opts.repo.get(id).catch(() => undefined);
    if (row?.status === "expired")
      this.webhook("request.expired", row, `Approval request expired on ${row.connection}`);
    await this.changed(id, row);
  }

  private async abandon(id: string, reason: string): Promise<void> {
    await this.opts.repo
      .transition(id, "pending", { status: "abandoned", decidedAt: Date.now(), endedReason: reason })
      .catch(() => {});
    await this.changed(id);
  }

  /** A request changed (here, on another gateway, or found by polling): settle its waiter, end its grant. */
  private async changed(id: string, known?: RequestView): Promise<void> {
    const waiter = this.waiters.get(id);
    const grant = this.grants.get(id);
    if (!waiter && !grant) return;
    const row = known ?? (await this.opts.repo.get(id).catch(() => undefined));
    if (waiter && (row === undefined || TERMINAL.has(row.status as RequestStatus))) {
      this.waiters.delete(id);
      waiter.settle(row);
    }
    if (grant && row?.status === "revoked") {
      this.endGrant(
        id,
        new CustosError("access.grant_revoked", "access grant revoked: the session is closed"),
      );
    }
  }

  private async poll(): Promise<void> {
    const ids = [...this.waiters.keys(), ...this.grants.keys()];
    if (ids.length === 0) return;
    let statuses: Map<string, RequestStatus>;
    try {
      statuses = await this.opts.repo.statuses(ids);
    } catch {
      return;
    }
    for (const id of ids) {
      const s = statuses.get(id);
      if (
        s === undefined ||
        (this.waiters.has(id) && TERMINAL.has(s)) ||
        (this.grants.has(id) && s === "revoked")
      )
        await this.changed(id);
    }
  }

  // --- access requests and grants -----------------------------------------------------------------------

  async requestAccess(
    identity: Identity,
    connection: string,
    durationMs: number,
    reason: string,
  ): Promise<RequestView> {
    const c = this.byName.get(connection);
    if (!c) throw new CustosError("access.unknown_connection", `connection "${connection}" does not exist`);
    if (c.mode !== "request") {
      throw new CustosError("approval.invalid", `connection "${connection}" does not take access requests`);
    }
    if (!identity.groups.some((g) => c.allowGroups.includes(g))) {
      throw new CustosError("access.forbidden", `permission denied for connection "${connection}"`);
    }
    if (!(durationMs > 0) || durationMs > c.maxDurationMs) {
      throw new CustosError(
        "approval.invalid",
        `duration must be more than 0 and at most ${formatMs(c.maxDurationMs)} (max_duration)`,
      );
    }
    if (!reason.trim()) throw new CustosError("approval.invalid", "a reason is required");
    const now = Date.now();
    const row: RequestRow = {
      id: newId(),
      kind: "access",
      status: "pending",
      connection,
      requesterSubject: identity.subject,
      requesterIssuer: identity.issuer,
      requesterGroups: JSON.stringify(identity.groups),
      requesterKind: identity.kind,
      approverGroups: JSON.stringify(c.approvers),
      minApprovals: c.minApprovals,
      logId: null,
      sessionId: null,
      statementText: null,
      statementHash: null,
      params: null,
      rule: null,
      reason: reason.slice(0, 1000),
      durationMs,
      createdAt: now,
      deadline: now + ACCESS_REQUEST_TTL_MS,
      decidedAt: null,
      grantExpiresAt: null,
      consumedAt: null,
      endedReason: null,
    };
    await this.opts.repo.create(row);
    this.emit("access.requested", row, {
      ...askedColumns(row),
      duration_ms: durationMs,
      reason: row.reason,
      amr: identity.context.amr,
    });
    this.webhook("request.created", row, `${identity.subject} asks for access to ${connection}`);
    return { ...row, decisions: [] };
  }

  /** At session open: a connection with `access: request` admits only the holder of a live grant. */
  async admit(identity: Identity, connection: string): Promise<Grant | null> {
    const c = this.byName.get(connection);
    if (!c || c.mode !== "request") return null;
    const now = Date.now();
    let grant: RequestRow | undefined;
    try {
      grant = await this.opts.repo.liveGrant(connection, identity.subject, identity.issuer, now);
    } catch (err) {
      throw new CustosError(
        "audit.unavailable",
        "the approval store is unavailable: connections are refused",
        {
          error: String(err),
        },
      );
    }
    if (!grant) {
      throw new CustosError(
        "access.no_grant",
        `connection "${connection}" needs an approved access request: ./custos access request --connection ${connection} --duration 30m --reason "…"`,
      );
    }
    return { id: grant.id, expiresAt: grant.grantExpiresAt ?? now };
  }

  /** Calls `onEnd` when the grant expires or is revoked; returns the unsubscribe. */
  watchGrant(grant: Grant, onEnd: (err: CustosError) => void): () => void {
    let w = this.grants.get(grant.id);
    if (!w) {
      const timer = setTimeout(
        () => void this.grantExpired(grant.id),
        Math.max(0, grant.expiresAt - Date.now()),
      );
      w = { expiresAt: grant.expiresAt, timer, listeners: new Set() };
      this.grants.set(grant.id, w);
    }
    const watch = w;
    watch.listeners.add(onEnd);
    return () => {
      watch.listeners.delete(onEnd);
      if (watch.listeners.size === 0 && this.grants.get(grant.id) === watch) {
        clearTimeout(watch.timer);
        this.grants.delete(grant.id);
      }
    };
  }

  private async grantExpired(id: string): Promise<void> {
    await this.opts.repo
      .transition(id, "approved", { status: "expired", endedReason: "grant expired" })
      .catch(() => {});
    this.endGrant(id, new CustosError("access.grant_expired", "access grant expired: the session is closed"));
  }

  private endGrant(id: string, err: CustosError): void {
    const w = this.grants.get(id);
    if (!w) return;
    this.grants.delete(id);
    clearTimeout(w.timer);
    this.opts.event({
      type: err.code === "access.grant_revoked" ? "access.revoked" : "access.grant_expired",
      time: Date.now(),
      data: { request_id: id, sessions_closed: w.listeners.size },
    });
    for (const l of w.listeners) l(err);
  }

  // --- decisions --------------------------------------------------------------------------------------

  async decide(id: string, approver: Identity, verdict: Verdict, reason: string): Promise<RequestView> {
    if (!reason.trim()) throw new CustosError("approval.invalid", "a reason is required");
    const now = Date.now();
    const view = await this.opts.repo
      .decide(
        id,
        {
          requestId: id,
          approverSubject: approver.subject,
          approverIssuer: approver.issuer,
          approverGroups: JSON.stringify(approver.groups),
          amr: approver.context.amr ? JSON.stringify(approver.context.amr) : null,
          verdict,
          reason: reason.slice(0, 1000),
          time: now,
          logId: this.opts.logId,
        },
        (request, decisions) => {
          checkApprover(request, approver, verdict);
          return foldVerdict(request, decisions, verdict, approver, now);
        },
      )
      .catch((err: unknown) => {
        // A refused attempt (self-approval, wrong group, too late) is evidence too.
        const e =
          err instanceof CustosError
            ? err
            : new CustosError("audit.unavailable", "the approval store is unavailable");
        this.opts.event({
          type: "approval.refused",
          time: now,
          data: {
            request_id: id,
            verdict,
            approver: approver.subject,
            approver_issuer: approver.issuer,
            code: e.code,
            message: e.message,
          },
        });
        throw e;
      });
    const access = view.kind === "access";
    this.emit(access ? "access.decision" : "approval.decision", view, {
      verdict,
      approver: approver.subject,
      approver_issuer: approver.issuer,
      approver_groups: approver.groups,
      amr: approver.context.amr,
      acr: approver.context.acr,
      reason,
      status: view.status,
      decided_at: now,
      grant_expires_at: view.grantExpiresAt ?? undefined,
    });
    if (access && view.status === "approved" && verdict === "approve")
      this.emit("access.granted", view, { grant_expires_at: view.grantExpiresAt });
    if (access && verdict === "revoke") this.endGrant(id, revokedError());
    if (view.status !== "pending" || verdict === "revoke") {
      this.webhook(`request.${view.status}`, view, `Request ${view.status} on ${view.connection}`);
    }
    await this.changed(id, view);
    return view;
  }

  get(id: string): Promise<RequestView | undefined> {
    return this.opts.repo.get(id);
  }

  list(opts: {
    status?: RequestStatus;
    kind?: "statement" | "access";
    limit?: number;
  }): Promise<RequestView[]> {
    return this.opts.repo.list({ ...opts, limit: Math.min(Math.max(opts.limit ?? 100, 1), 1000) });
  }

  /** Gateway shutdown: every statement still waiting is abandoned (its client gets an error). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    await Promise.all([...this.waiters.keys()].map((id) => this.abandon(id, "gateway stopped")));
    for (const w of this.grants.values()) clearTimeout(w.timer);
    this.grants.clear();
  }

  /** Statement reviews this gateway holds now (sessions waiting on a decision): the pending gauge. */
  heldCount(): number {
    return this.waiters.size;
  }

  private emit(type: string, r: RequestRow, data: Record<string, unknown>): void {
    this.opts.event({
      type,
      time: Date.now(),
      sessionId: r.sessionId ?? undefined,
      data: {
        request_id: r.id,
        kind: r.kind,
        connection: r.connection,
        requester: r.requesterSubject,
        requester_issuer: r.requesterIssuer,
        statement_hash: r.statementHash ?? undefined,
        ...data,
      },
    });
  }

  private webhook(event: string, r: RequestRow, title: string): void {
    if (!this.opts.webhook) return;
    const lines = [
      `*Request:* \`${r.id}\` (${r.kind}) · *status:* ${r.status}`,
      `*Requester:* ${r.requesterSubject} · *connection:* ${r.connection}`,
      r.statementText ? `*Statement:* \`${truncate(r.statementText, 1000)}\`` : `*Reason:* ${r.reason}`,
    ];
    if (r.durationMs) lines.push(`*Duration:* ${formatMs(r.durationMs)}`);
    if (r.status === "pending") {
      lines.push(
        `Approve: \`./custos approve ${r.id} --reason "…"\` or POST ${this.opts.apiBase}/api/approvals/${r.id}/approve`,
        `Inbox: ${this.opts.apiBase}/console/approvals`,
      );
    }
    this.opts.webhook.send({
      event,
      title,
      lines,
      data: {
        request_id: r.id,
        kind: r.kind,
        status: r.status,
        connection: r.connection,
        requester: r.requesterSubject,
        session_id: r.sessionId,
        statement_hash: r.statementHash,
        deadline: r.deadline,
        url: `${this.opts.apiBase}/api/approvals/${r.id}`,
      },
    });
  }
}

/** What `audit verify` needs to recompute a request row from its event (audit/projection-approvals.ts). */
function askedColumns(r: RequestRow) {
  return {
    created_at: r.createdAt,
    requester_groups: JSON.parse(r.requesterGroups) as unknown,
    requester_kind: r.requesterKind,
    approvers: JSON.parse(r.approverGroups) as unknown,
    min_approvals: r.minApprovals,
    deadline: r.deadline,
  };
}

function refusal(rule: string, reason: string, id?: string, status?: string): Decision {
  return {
    action: "deny",
    reason,
    rule,
    record: "sync",
    mask: [],
    ...(id && status ? { approval: { id, status } } : {}),
  };
}

const revokedError = () =>
  new CustosError("access.grant_revoked", "access grant revoked: the session is closed");

function approverList(r: RequestView) {
  return r.decisions.map((d) => ({
    subject: d.approverSubject,
    issuer: d.approverIssuer,
    verdict: d.verdict,
    reason: d.reason,
    time: d.time,
    amr: d.amr ? JSON.parse(d.amr) : undefined,
  }));
}

const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…` : s);

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}
