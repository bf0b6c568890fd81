// What every command path of the relay shares: the decision (fail closed), the review hold, the wait for a
// durable record, the stand-in statement of a refusal, and queuing a request with the tracker (a Query,
// Sync or function call ends a segment of the session's objects, objects.ts). command-flow.ts builds the
// protocol's paths on these.
import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
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
import type { RequestKind, ResponseTracker } from "./tracker.ts";

export interface CommandFlowDeps {
  gw: GatewaySession<PostgresTarget>;
  io: RelayIo;
  server: ServerStream;
  tracker: ResponseTracker<Tracked>;
  objects: SessionObjects;
  masking: ResultMasking | null;
  /** The relay's counters: this path adds commands. */
  stats: SessionStats;
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
  /** Writes of the open transaction were forwarded before their records were durable: its end waits. */
  protected deferredDurable = false;
  /** Commands waiting for a human's decision: recorded as interrupted if the session ends first. */
  private readonly held = new Set<{ command: Command; decision: Decision; start: number }>();

  constructor(deps: CommandFlowDeps) {
    this.gw = deps.gw;
    this.io = deps.io;
    this.server = deps.server;
    this.tracker = deps.tracker;
    this.objects = deps.objects;
    this.masking = deps.masking;
    this.stats = deps.stats;
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
  ): void {
    this.tracker.expect(kind, tracked, refusal, effects?.length ? { effects } : {});
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

  /** For `record: sync`, the command waits until everything recorded so far is committed (durability.ts). */
  protected afterDurable(
    tracked: Tracked,
    kind: "query" | "execute",
    forward: () => void,
  ): Promise<void> | undefined {
    const wait = durableWait(tracked, this.tracker, this.deferredDurable);
    if (wait === "defer") {
      this.deferredDurable = true;
      tracked.deferred = true;
      forward();
      return;
    }
    if (wait === "none") {
      forward();
      return;
    }
    this.io.flushToServer();
    return this.io.durable().then(
      () => {
        this.deferredDurable = false;
        forward();
      },
      () => {
        const refused = { ...tracked, decision: auditRefusal() };
        if (kind === "query") this.refuse(refused, "query", refusedQuery);
        else this.refuseExecute(refused);
      },
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
