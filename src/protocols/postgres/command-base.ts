// What every command path of the relay shares: the decision (fail closed), the review hold, the wait for a
// durable record, the stand-in statement of a refusal, and queuing a request with the tracker (a Query,
// Sync or function call ends a segment of the session's objects, objects.ts). command-flow.ts builds the
// protocol's paths on these.
import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { GatewaySession, ReviewBinding, SessionStats } from "../../core/session.ts";
import * as codec from "./codec.ts";
import { durableWait } from "./durability.ts";
import { combine } from "./object-decisions.ts";
import type { ObjectEffect, SessionObjects } from "./objects.ts";
import {
  auditRefusal,
  policyFailure,
  refusalError,
  refusalMessage,
  refusedParse,
  refusedQuery,
} from "./refusals.ts";
import type { RelayIo } from "./relay-io.ts";
import type { CommandMask, ResultMasking } from "./result-masking.ts";
import type { ServerStream } from "./server-stream.ts";
import type { PostgresTarget } from "./target.ts";
import type { Tracked } from "./tracked.ts";
import { HIDE_READY, type RequestKind, type ResponseTracker } from "./tracker.ts";

export interface CommandFlowDeps {
  gw: GatewaySession<PostgresTarget>;
  io: RelayIo;
  server: ServerStream;
  tracker: ResponseTracker<Tracked>;
  objects: SessionObjects;
  masking: ResultMasking | null;
  /** The relay's counters: this path adds commands. */
  stats: SessionStats;
  /** Ends the session (writes whose records could not be made durable are then rolled back by the server). */
  onFatal(err: CustosError): void;
}

/** The gateway's own transaction around a simple-protocol autocommit write (durability.ts). */
const BEGIN = codec.query("BEGIN");
const COMMIT = codec.query("COMMIT");
// Flush ('H', protocol-message-formats): the server sends the replies it has buffered without waiting for a
// Sync, so a held Sync's writes report their outcome (and it is recorded) before the Sync commits them.
const FLUSH = new codec.Writer().finish("H");

/** Messages queued behind commit gates beyond this make the relay stop reading until they leave. */
const GATED_MAX = 4096;

/** Records that could not be made durable: what was run is never committed (the session ends, rolled back). */
function commitRefused(): CustosError {
  return new CustosError(
    "audit.unavailable",
    "audit store unavailable: the statement was not committed because its record could not be made durable",
  );
}

/**
 * Masked identities (agents): what the command touches, resolved through the upstream catalog, goes into
 * the command before it is decided (statement-resolver.ts). A known shape is attached synchronously; a new
 * one waits for the catalog. A resolver failure leaves an empty resolution, which the policy input turns
 * into unresolved statements (refused for agents).
 */
function resolveThroughCatalog(
  gw: GatewaySession<PostgresTarget>,
  masking: ResultMasking | null,
  command: Command,
): Promise<void> | null {
  const resolver = masking?.resolver;
  if (!resolver || gw.identity.kind !== "agent") return null;
  const resolved = resolver.resolve(command.text);
  if (!(resolved instanceof Promise)) {
    command.catalog = resolved;
    return null;
  }
  return resolved.then(
    (r) => {
      command.catalog = r;
    },
    () => {
      command.catalog = { statements: [] };
    },
  );
}

export class CommandBase {
  protected readonly gw: GatewaySession<PostgresTarget>;
  protected readonly io: RelayIo;
  protected readonly server: ServerStream;
  protected readonly tracker: ResponseTracker<Tracked>;
  protected readonly objects: SessionObjects;
  protected readonly masking: ResultMasking | null;
  protected readonly stats: SessionStats;
  private readonly onFatal: (err: CustosError) => void;
  /** Writes of the open transaction were forwarded before their records were durable: its end waits. */
  protected deferredDurable = false;
  /** Commands waiting for a human's decision: recorded as interrupted if the session ends first. */
  private readonly held = new Set<{ command: Command; decision: Decision; start: number }>();
  /**
   * Autocommit writes run inside the gateway's BEGIN whose COMMIT waits for their record: if the session
   * ends first, the server rolls them back although their statement events say they ran.
   */
  private readonly beforeCommit = new Set<Tracked>();
  /**
   * Commands forwarded before their records were durable, and how many of them have their outcome recorded
   * (the server answers in order, so the first `aheadRecorded` of the `aheadSent`).
   */
  private aheadSent = 0;
  private aheadRecorded = 0;
  private recordedWaiters: { upTo: number; resolve: () => void }[] = [];
  /**
   * Extended-protocol writes ran ahead of their records: the next message that may commit the implicit
   * transaction (Sync, Query, FunctionCall) waits until their outcomes are recorded and durable.
   */
  private uncommitted = false;

  constructor(deps: CommandFlowDeps) {
    this.gw = deps.gw;
    this.io = deps.io;
    this.server = deps.server;
    this.tracker = deps.tracker;
    this.objects = deps.objects;
    this.masking = deps.masking;
    this.stats = deps.stats;
    this.onFatal = deps.onFatal;
  }

  /** The gateway's decision of a command; any failure is a denial. */
  protected decideSafely(command: Command): Decision | Promise<Decision> {
    const resolving = resolveThroughCatalog(this.gw, this.masking, command);
    if (resolving) return resolving.then(() => this.decideResolved(command));
    return this.decideResolved(command);
  }

  private decideResolved(command: Command): Decision | Promise<Decision> {
    if (!this.gw.recordable()) return auditRefusal();
    try {
      const d = this.gw.decide(command);
      return d instanceof Promise ? d.catch(() => policyFailure()) : d;
    } catch {
      return policyFailure();
    }
  }

  /** Decides, then continues synchronously when the decision is immediate (the cached hot path). */
  protected decideThen(
    command: Command,
    next: (cmd: Command, d: Decision) => Promise<void> | undefined,
  ): Promise<void> | undefined {
    const decided = this.decideSafely(command);
    if (decided instanceof Promise) return decided.then((d) => next(command, d));
    return next(command, decided);
  }

  /** Queues a request; a Query, Sync or function call ends the segment (objects.ts). */
  protected expect(
    kind: RequestKind,
    tracked: Tracked | null,
    refusal: Uint8Array | null = null,
    effects?: ObjectEffect[],
    hideReady = false,
  ): void {
    const extra = effects?.length ? { effects, hideReady } : hideReady ? HIDE_READY : undefined;
    this.tracker.expect(kind, tracked, refusal, extra);
    if (kind === "query" || kind === "sync" || kind === "function") this.objects.endSegment();
  }

  /** A masked command with COPY ... TO STDOUT: its columns are learned before it runs (copy-mask.ts). */
  protected prepareCopyMask(tracked: Tracked): Promise<void> | null {
    const cm = this.maskOf(tracked);
    return cm && this.masking ? this.masking.prepareCopy(cm) : null;
  }

  /** An Execute refused late (audit store lost): the server must fail it, so a refused Parse stands in. */
  protected refuseExecute(tracked: Tracked, d: Decision = auditRefusal(), audit = true): undefined {
    if (audit) {
      this.gw.completed(tracked.command, d, { tag: null, rows: 0, error: refusalError(d), durationUs: 0 });
      this.stats.commands++;
    }
    // The stand-in Parse of the unnamed statement fails, and the server drops the unnamed statement.
    const dropped = this.objects.change("statement", "", null, { dropOnFailure: true });
    this.refuse({ ...tracked, decision: d }, "parse", refusedParse(""), false, [dropped]);
    return;
  }

  /**
   * A `review` decision: the command waits while humans decide. The client is told at once (a NOTICE
   * naming the request and where to approve it); then the command goes on as approved, or is refused.
   */
  protected holdForReview(
    command: Command,
    d: Decision,
    binding: ReviewBinding,
    next: (final: Decision) => Promise<void> | undefined,
  ): Promise<void> {
    this.io.flushToServer();
    const notify = (n: { message: string; hint: string }) =>
      this.server.toClient(
        codec.noticeResponse({ severity: "NOTICE", code: "00000", message: n.message, hint: n.hint }),
      );
    this.io.flushRecording();
    const held = { command, decision: d, start: nowMicros() };
    this.held.add(held);
    return this.gw.review(command, d, binding, notify).then((final) => {
      // A session that ended meanwhile recorded the command as interrupted (takeHeld).
      if (!this.held.delete(held) || this.io.stopped) return;
      // Only an approval releases the command; anything else (even a second review) is a refusal.
      if (final.action !== "allow") return next({ ...final, action: "deny" });
      // An approval releases the command, never its masking: the reviewed decision's mask plan still applies.
      return next(combine(final, { ...d, action: "allow" }));
    });
  }

  /** The commands still held for review, forgotten here: their session ends. */
  protected takeHeld(): { command: Command; decision: Decision; start: number }[] {
    const out = [...this.held];
    this.held.clear();
    return out;
  }

  /**
   * For `record: sync`, nothing the command does commits, and the client learns nothing of it, before its
   * record is durable (durability.ts): it waits before it is forwarded, or it runs now with its replies held
   * and what commits it waits. `forward(hideReady)` sends the command; hideReady when the relay wraps it in
   * its own transaction (its ReadyForQuery is not the client's).
   */
  protected afterDurable(
    tracked: Tracked,
    kind: "query" | "execute" | "function",
    forward: (hideReady: boolean) => void,
  ): Promise<void> | undefined {
    const wait = durableWait(tracked, this.tracker, this.deferredDurable, kind);
    if (wait === "defer" || wait === "at-sync") {
      this.deferredDurable = true;
      if (wait === "defer") tracked.deferred = true;
      else this.uncommitted = true;
      this.awaitRecord(tracked);
      forward(false);
      return;
    }
    if (wait === "in-transaction") return this.inGatewayTransaction(tracked, forward);
    if (wait === "none") {
      forward(false);
      return;
    }
    return this.recordedAndDurable().then(
      () => {
        this.deferredDurable = false;
        this.uncommitted = false;
        forward(false);
      },
      () => {
        const refused = { ...tracked, decision: auditRefusal() };
        if (kind === "execute") this.refuseExecute(refused);
        else this.refuse(refused, "query", refusedQuery);
      },
    );
  }

  /**
   * A simple-protocol autocommit write runs inside BEGIN … COMMIT sent by the gateway. Its replies are held
   * (onCompleted) until its statement event is durable; only then is the COMMIT sent, and its ReadyForQuery
   * ('I', as after an autocommit statement) is the one the client sees. When the record cannot be made
   * durable the COMMIT is never sent: the session ends and the server rolls the write back.
   */
  private inGatewayTransaction(tracked: Tracked, forward: (hideReady: boolean) => void): Promise<void> {
    this.io.send(BEGIN);
    this.tracker.expect("query", null, null, { internal: true, hideReady: true });
    this.awaitRecord(tracked);
    this.beforeCommit.add(tracked);
    forward(true);
    return this.recordedAndDurable().then(
      () => {
        // Still here unless the session ended first (interrupted() then records the rollback).
        if (!this.beforeCommit.delete(tracked) || this.io.stopped) return;
        const commit: Tracked = { ...tracked, mask: null, gatewayCommit: true, awaitsRecord: false };
        this.io.send(COMMIT);
        this.tracker.expect("query", commit, null, { internal: true, showErrors: true });
      },
      () => {
        this.beforeCommit.delete(tracked);
        throw commitRefused();
      },
    );
  }

  /** Writes the gateway ran in its own transaction whose COMMIT it has not sent, forgotten here. */
  protected takeBeforeCommit(): Tracked[] {
    const out = [...this.beforeCommit];
    this.beforeCommit.clear();
    return out;
  }

  /**
   * Before a message that may commit the implicit transaction (Sync, Query, FunctionCall): when writes ran
   * ahead of their records, it waits until their outcomes are recorded and durable. One wait for every
   * Execute before the Sync: a pipeline of writes waits for one group commit.
   */
  protected commitGate(): Promise<void> | null {
    if (!this.uncommitted) return null;
    // The wait covers every write sent so far; writes sent after it set the flag again.
    this.uncommitted = false;
    this.deferredDurable = false;
    return this.recordedAndDurable().catch(() => {
      throw commitRefused();
    });
  }

  /**
   * A Sync behind a commit gate: it and what follows queue in the relay (RelayIo.gate) while the client's
   * next messages are read and decided. Past a bound of queued messages the relay waits instead.
   */
  protected gateSync(gate: Promise<void>, send: () => void): Promise<void> | undefined {
    const failed = gate.catch((err: unknown) => {
      this.onFatal(err instanceof CustosError ? err : commitRefused());
      throw err;
    });
    this.io.gate(failed);
    send();
    failed.catch(() => {});
    return this.io.gatedMessages > GATED_MAX ? failed.then(() => {}) : undefined;
  }

  private awaitRecord(tracked: Tracked): void {
    tracked.awaitsRecord = true;
    this.aheadSent++;
  }

  /** A command forwarded ahead of its record has its outcome recorded (onCompleted). */
  protected recorded(tracked: Tracked): void {
    if (!tracked.awaitsRecord) return;
    tracked.awaitsRecord = false;
    const n = ++this.aheadRecorded;
    const waiters = this.recordedWaiters;
    while (waiters.length && waiters[0]!.upTo <= n) waiters.shift()!.resolve();
  }

  /**
   * Resolves once every command forwarded ahead of its record has its outcome recorded, and everything
   * recorded by then is committed. The server is asked to flush its replies (FLUSH), since it would
   * otherwise keep them until the Sync this wait holds back.
   */
  private recordedAndDurable(): Promise<void> {
    const upTo = this.aheadSent;
    if (this.aheadRecorded >= upTo) {
      this.io.flushToServer();
      return this.io.durable();
    }
    this.io.send(FLUSH);
    this.io.flushToServer();
    return new Promise<void>((resolve) => this.recordedWaiters.push({ upTo, resolve })).then(() =>
      this.io.durable(),
    );
  }

  protected refuse(
    tracked: Tracked,
    kind: "query" | "parse" | "function",
    substitute: Uint8Array,
    report = true,
    effects?: ObjectEffect[],
  ): undefined {
    this.io.send(substitute);
    this.server.refusalsPending++;
    this.expect(kind, report ? tracked : null, refusalMessage(tracked.decision), effects);
    return;
  }

  /** The masking state a command's results need; null when its decision masks nothing. */
  maskOf(t: Tracked): CommandMask | null {
    if (t.mask !== undefined) return t.mask;
    t.mask =
      this.masking && t.decision.mask?.length ? this.masking.begin(t.decision.mask, t.command.text) : null;
    return t.mask;
  }
}
