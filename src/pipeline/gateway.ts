// The pipeline: joins identity, policy and audit behind core's Gateway contract, which is all a protocol
// sees. Opening a session reads as the steps an examiner would check: authenticate, find the connection,
// check the identity may use it, record the binding of identity to target account, hand out the session.
import type { ApprovalService, Grant, PendingReview } from "../approvals/service.ts";
import type { Recorder } from "../audit/recorder.ts";
import type { StatementEventData } from "../audit/statement-event.ts";
import type { Command, CommandOutcome } from "../core/command.ts";
import { type Decision, deny } from "../core/decision.ts";
import { asCustosError, CustosError } from "../core/errors.ts";
import type { Frame } from "../core/frame.ts";
import type { Identity } from "../core/identity.ts";
import type { Logger } from "../core/log.ts";
import type {
  ConnectionInfo,
  ConnectRequest,
  FrontDoorResult,
  Gateway,
  GatewaySession,
  OpenResult,
  ReviewBinding,
  ReviewNotice,
  SessionStats,
} from "../core/session.ts";
import type { Authenticator } from "../identity/authenticator.ts";
import type { DecisionContext } from "../policy/input.ts";
import type { Metrics } from "./metrics.ts";
import { firstKeyword, recordMode } from "./record-mode.ts";

export interface ConnectionEntry {
  info: ConnectionInfo;
  allowGroups: string[];
  idleTimeoutMs: number;
  maxSessionMs: number;
  /** Live sessions one identity may hold on this connection (absent: no per-identity cap). */
  maxSessionsPerIdentity?: number;
  /** Target account as recorded in session.start (F1): who Custos logs in as upstream. */
  targetAccount: { user: string; database: string };
}

// A front door's own session (MCP at /mcp): idle and absolute time-outs (F17) and a per-identity cap.
const FRONT_DOOR_IDLE_MS = 15 * 60_000;
const FRONT_DOOR_MAX_MS = 8 * 3_600_000;
const FRONT_DOOR_PER_IDENTITY = 20;

export interface CommandDecider {
  decide(ctx: DecisionContext, command: Command): Decision | Promise<Decision>;
  /** Drops cached decisions (a connection's catalog resolution changed). */
  invalidate?(): void;
}

export interface PipelineOptions {
  authenticator: Authenticator;
  recorder: Recorder;
  decider: CommandDecider;
  connections: ConnectionEntry[];
  auditSync: "writes" | "all" | "none";
  metrics: Metrics;
  logger: Logger;
  /** Statement review and just-in-time access grants; absent, `review` is refused. */
  approvals?: ApprovalService;
  /** Live sessions in all (limits.max_sessions); absent: no global cap. */
  maxSessions?: number;
}

export interface Pipeline extends Gateway {
  /** Ends every live session (shutdown). */
  terminateAll(reason: CustosError): void;
  readonly liveSessions: number;
}

export function createPipeline(opts: PipelineOptions): Pipeline {
  const { recorder, metrics, logger } = opts;
  const byName = new Map(opts.connections.map((c) => [c.info.name, c]));
  const live = new Set<LiveSession>();
  // Live sessions per identity and connection, for connections[].max_sessions_per_identity.
  const perIdentity = new Map<string, number>();

  const refuse = (
    req: ConnectRequest,
    error: CustosError,
    identity?: Identity,
  ): { ok: false; error: CustosError } => {
    metrics.countAuthFailure(error.code);
    recorder.event({
      type: identity ? "access.denied" : "auth.failure",
      time: Date.now(),
      data: {
        code: error.code,
        message: error.message,
        ...error.detail,
        subject: identity?.subject,
        issuer: identity?.issuer,
        protocol: req.protocol,
        client_addr: req.clientAddr,
        connection: req.connection,
        user: req.user,
        application: req.applicationName,
      },
    });
    // "session refused", naming who: "connection refused" reads as a TCP error (ECONNREFUSED) in a log search.
    logger.info("session refused", {
      code: error.code,
      subject: identity?.subject ?? null,
      issuer: identity?.issuer ?? null,
      protocol: req.protocol,
      client_addr: req.clientAddr,
      connection: req.connection,
      reason: error.message,
    });
    return { ok: false, error };
  };

  // Caps, then the live session and its session.start (F1): shared by connections and front doors.
  function startSession<Target>(
    req: ConnectRequest,
    identity: Identity,
    entry: ConnectionEntry,
    grant: Grant | null,
  ): OpenResult<Target> {
    // Session caps, before anything is dialed upstream: one identity cannot take every database slot.
    const identityKey = JSON.stringify([entry.info.name, identity.issuer, identity.subject]);
    const held = perIdentity.get(identityKey) ?? 0;
    const cap =
      opts.maxSessions !== undefined && live.size >= opts.maxSessions
        ? `sorry, too many clients already (limits.max_sessions ${opts.maxSessions})`
        : entry.maxSessionsPerIdentity !== undefined && held >= entry.maxSessionsPerIdentity
          ? `too many sessions for this identity on connection "${entry.info.name}" (max_sessions_per_identity ${entry.maxSessionsPerIdentity})`
          : null;
    if (cap) {
      return refuse(req, new CustosError("session.limit", cap, { live: live.size, held }), identity);
    }
    perIdentity.set(identityKey, held + 1);
    const session = new LiveSession(req, identity, entry, opts, () => {
      live.delete(session);
      const n = (perIdentity.get(identityKey) ?? 1) - 1;
      if (n > 0) perIdentity.set(identityKey, n);
      else perIdentity.delete(identityKey);
    });
    live.add(session);
    if (grant && opts.approvals) session.holdGrant(opts.approvals, grant);
    metrics.sessionsActive++;
    metrics.sessionsTotal++;
    const now = Date.now();
    recorder.event({
      type: "auth.success",
      time: now,
      sessionId: session.id,
      data: {
        subject: identity.subject,
        issuer: identity.issuer,
        groups: identity.groups,
        kind: identity.kind,
        method: identity.method,
        amr: identity.context.amr,
        acr: identity.context.acr,
        client_id: identity.context.clientId,
        actor: identity.context.actor,
        token_id: identity.context.tokenId,
        expires_at: identity.expiresAt,
        protocol: req.protocol,
        client_addr: req.clientAddr,
      },
    });
    recorder.event({
      type: "session.start",
      time: now,
      sessionId: session.id,
      data: {
        subject: identity.subject,
        issuer: identity.issuer,
        groups: identity.groups,
        kind: identity.kind,
        method: identity.method,
        actor: identity.context.actor,
        connection: entry.info.name,
        target_user: entry.targetAccount.user,
        target_database: entry.targetAccount.database,
        client_addr: req.clientAddr,
        client_user: req.user,
        application: req.applicationName,
        tls: req.tls,
        protocol: req.protocol,
        grant: grant ? { request_id: grant.id, expires_at: grant.expiresAt } : undefined,
      },
    });
    return { ok: true, session: session as unknown as GatewaySession<Target> };
  }

  return {
    get liveSessions() {
      return live.size;
    },

    async open<Target>(req: ConnectRequest): Promise<OpenResult<Target>> {
      // Fail closed: a session that could not be recorded is not opened.
      if (!recorder.writable()) {
        metrics.countAuthFailure("audit.unavailable");
        return {
          ok: false,
          error: new CustosError("audit.unavailable", "audit store unavailable: connections are refused"),
        };
      }
      const auth = req.proven
        ? opts.authenticator.recheck(req.proven)
        : await opts.authenticator.authenticate(req.credential);
      if (!auth.ok) return refuse(req, auth.error);
      const identity = auth.identity;
      const entry = byName.get(req.connection);
      if (!entry) {
        return refuse(
          req,
          new CustosError("access.unknown_connection", `connection "${req.connection}" does not exist`),
          identity,
        );
      }
      // A connection is reached through its own protocol only (an HTTP client cannot open a postgres one).
      if (entry.info.type !== req.protocol) {
        return refuse(
          req,
          new CustosError(
            "access.unknown_connection",
            `connection "${req.connection}" is not a ${req.protocol} connection`,
          ),
          identity,
        );
      }
      if (!identity.groups.some((g) => entry.allowGroups.includes(g))) {
        return refuse(
          req,
          new CustosError("access.forbidden", `permission denied for connection "${entry.info.name}"`, {
            allow_groups: entry.allowGroups,
            groups: identity.groups,
          }),
          identity,
        );
      }
      // access: request admits only the holder of a live grant, and the session ends with the grant.
      let grant: Grant | null = null;
      if (opts.approvals) {
        try {
          grant = await opts.approvals.admit(identity, entry.info.name);
        } catch (err) {
          return refuse(req, asCustosError(err), identity);
        }
      }
      return startSession<Target>(req, identity, entry, grant);
    },

    async openFrontDoor(req: ConnectRequest): Promise<FrontDoorResult> {
      if (!recorder.writable()) {
        metrics.countAuthFailure("audit.unavailable");
        return {
          ok: false,
          error: new CustosError("audit.unavailable", "audit store unavailable: connections are refused"),
        };
      }
      const auth = await opts.authenticator.authenticate(req.credential);
      if (!auth.ok) return refuse(req, auth.error);
      const identity = auth.identity;
      // The front door reaches nothing itself: any identity may open it, and it lists as connections exactly
      // those the identity's groups may open (each then opened through that connection's own protocol).
      const connections = opts.connections
        .filter((c) => identity.groups.some((g) => c.allowGroups.includes(g)))
        .map((c) => ({ name: c.info.name, type: c.info.type, labels: c.info.labels }));
      const door: ConnectionEntry = {
        info: { name: req.connection, type: req.protocol, labels: [], target: null },
        allowGroups: identity.groups,
        idleTimeoutMs: FRONT_DOOR_IDLE_MS,
        maxSessionMs: FRONT_DOOR_MAX_MS,
        maxSessionsPerIdentity: FRONT_DOOR_PER_IDENTITY,
        targetAccount: { user: "", database: "" },
      };
      const started = startSession<null>(req, identity, door, null);
      return started.ok ? { ok: true, session: started.session, connections } : started;
    },

    reject(protocol, clientAddr, error) {
      metrics.countAuthFailure(error.code);
      recorder.event({
        type: "auth.failure",
        time: Date.now(),
        data: {
          code: error.code,
          message: error.message,
          ...error.detail,
          protocol,
          client_addr: clientAddr,
        },
      });
    },

    catalogChanged(connection) {
      logger.info("catalog changed: cached decisions dropped", { connection });
      opts.decider.invalidate?.();
    },

    connectionEvent(connection, type, data) {
      recorder.event({ type, time: Date.now(), data: { ...data, connection } });
    },

    terminateAll(reason) {
      for (const s of live) s.terminate(reason);
    },
  };
}

/** Decisions with the gateway's `audit.sync` applied, per decision object (decisions are cached and frozen). */
const withRecord = new WeakMap<Decision, { setting: string; decision: Decision }>();

class LiveSession implements GatewaySession {
  readonly id = Bun.randomUUIDv7();
  readonly connection: ConnectionInfo;
  readonly limits: { idleTimeoutMs: number; maxSessionMs: number };
  private readonly ctx: DecisionContext;
  private readonly terminateListeners: ((reason: CustosError) => void)[] = [];
  private seq = 0;
  private closed = false;
  private readonly reviews = new Set<PendingReview>();
  private releaseGrant: (() => void) | null = null;
  private readonly startedAt = Date.now();

  constructor(
    req: ConnectRequest,
    readonly identity: Identity,
    entry: ConnectionEntry,
    private readonly opts: PipelineOptions,
    private readonly onClosed: () => void,
  ) {
    this.connection = entry.info;
    this.limits = { idleTimeoutMs: entry.idleTimeoutMs, maxSessionMs: entry.maxSessionMs };
    // One context object per session: the decider keys its cache on it.
    this.ctx = {
      identity,
      connection: entry.info,
      session: {
        id: this.id,
        clientAddr: req.clientAddr,
        startedAt: this.startedAt,
        applicationName: req.applicationName,
      },
    };
  }

  decide(command: Command): Decision | Promise<Decision> {
    command.keyword ??= firstKeyword(command.text);
    const started = performance.now();
    const took = this.opts.metrics.decisionSeconds;
    let decided: Decision | Promise<Decision>;
    try {
      decided = this.opts.decider.decide(this.ctx, command);
    } catch (err) {
      this.opts.logger.error("decider threw", { session: this.id, error: String(err) });
      return deny("policy evaluation failed", "custos.policy_error");
    }
    if (decided instanceof Promise) {
      return decided.then(
        (d) => {
          took.observe((performance.now() - started) / 1000);
          return this.withRecordMode(d, command);
        },
        () => deny("policy evaluation failed", "custos.policy_error"),
      );
    }
    took.observe((performance.now() - started) / 1000);
    return this.withRecordMode(decided, command);
  }

  private withRecordMode(d: Decision, command: Command): Decision {
    // A classified decision's record mode depends on the decision alone: worked out once per cached
    // decision rather than copied on every statement.
    const classified = d.statements !== undefined && d.statements.length > 0;
    if (classified) {
      const known = withRecord.get(d);
      if (known && known.setting === this.opts.auditSync) return known.decision;
    }
    const record = recordMode(this.opts.auditSync, d.record, command, d.statements, d.vettedCalls);
    const decided = record === d.record ? d : { ...d, record };
    if (classified) withRecord.set(d, { setting: this.opts.auditSync, decision: decided });
    return decided;
  }

  review(
    command: Command,
    decision: Decision,
    binding: ReviewBinding,
    notify: (notice: ReviewNotice) => void,
  ): Promise<Decision> {
    const approvals = this.opts.approvals;
    const asked = { rule: decision.rule, reason: decision.reason };
    if (!approvals || this.closed) {
      return Promise.resolve({
        ...decision,
        action: "deny",
        rule: "custos.approval_unavailable",
        review: asked,
      });
    }
    const pending = approvals.review({
      sessionId: this.id,
      identity: this.identity,
      connection: this.connection.name,
      command,
      decision,
      params: binding.params ?? null,
      paramFormats: binding.paramFormats,
      notify,
    });
    this.reviews.add(pending);
    return pending.decision.then(
      (d) => {
        this.reviews.delete(pending);
        // Refused without a human's decision (nobody to route it to, the store down): the record keeps the
        // review the policy asked for beside the refusal.
        return d.action === "deny" && !d.approval ? { ...d, review: asked } : d;
      },
      (err) => {
        this.reviews.delete(pending);
        this.opts.logger.error("review failed", { session: this.id, error: String(err) });
        return {
          ...deny("the approval could not be completed", "custos.approval_unavailable"),
          review: asked,
        };
      },
    );
  }

  holdGrant(approvals: ApprovalService, grant: Grant): void {
    this.releaseGrant = approvals.watchGrant(grant, (err) => {
      this.event(err.code, { request_id: grant.id, message: err.message });
      this.terminate(err);
    });
  }

  record(frame: Frame, bytes?: number): void {
    this.opts.recorder.frame(this.id, frame, bytes);
  }

  recordBytes(dir: Frame["dir"], t: number, kind: string, bytes: Uint8Array): void {
    this.opts.recorder.bytesFrame(this.id, t, dir, kind, bytes);
  }

  recordingBacklog(): Promise<void> | null {
    return this.opts.recorder.whenDrained();
  }

  durable(): Promise<void> {
    return this.opts.recorder.durable();
  }

  recordable(): boolean {
    return this.opts.recorder.writable();
  }

  completed(command: Command, decision: Decision, outcome: CommandOutcome): void {
    this.opts.metrics.countStatement(decision.action, decision.rule);
    // Keys in canonical (sorted) order: the audit encoder writes them as they are.
    const data: StatementEventData = {
      action: decision.action,
      approval: decision.approval,
      bundle: decision.bundle,
      duration_us: outcome.durationUs,
      error: outcome.error,
      input_digest: decision.inputDigest,
      keyword: command.keyword,
      reason: decision.reason,
      record: decision.record,
      review: decision.review,
      rows: outcome.rows,
      rule: decision.rule,
      seq: this.seq++,
      statement_name: command.statementName,
      statements: decision.statements,
      tag: outcome.tag,
      text: command.text,
    };
    const time = Date.now();
    // A protocol's own facts (HTTP status, bytes, an interruption) make a shape the fixed encoder does not
    // know: those events go the generic way, which sorts their keys in.
    if (outcome.detail === undefined)
      this.opts.recorder.statement({ type: "statement", time, sessionId: this.id, data });
    else {
      this.opts.recorder.event({
        type: "statement",
        time,
        sessionId: this.id,
        data: { ...data, ...outcome.detail },
      });
    }
  }

  event(type: string, data: Record<string, unknown>): void {
    this.opts.recorder.event({ type, time: Date.now(), sessionId: this.id, data });
    // An upstream that cannot be reached is an operator's problem, not only an audit fact: log where and why
    // (the protocols put host, port and errno in the detail).
    if (type === "upstream.error") {
      this.opts.logger.warn("upstream error", {
        session: this.id,
        connection: this.connection.name,
        subject: this.identity.subject,
        ...data,
      });
    }
  }

  onTerminate(listener: (reason: CustosError) => void): void {
    this.terminateListeners.push(listener);
  }

  terminate(reason: CustosError): void {
    for (const l of this.terminateListeners) l(reason);
  }

  async close(reason: string, stats: SessionStats): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
    // A statement still waiting for approval is abandoned with its session.
    for (const r of this.reviews) r.cancel("session closed");
    this.reviews.clear();
    this.releaseGrant?.();
    const m = this.opts.metrics;
    m.sessionsActive--;
    m.bytesFromClients += stats.bytesFromClient;
    m.bytesToClients += stats.bytesToClient;
    this.opts.recorder.event({
      type: "session.end",
      time: Date.now(),
      sessionId: this.id,
      data: {
        reason,
        bytes_from_client: stats.bytesFromClient,
        bytes_to_client: stats.bytesToClient,
        commands: stats.commands,
        duration_ms: Date.now() - this.startedAt,
      },
    });
  }
}
