// A client command from decision to completion: decided (the cached decision synchronously), then held for
// review or for its record to be durable when the decision asks for it, then forwarded, or refused with a
// stand-in statement (refusals.ts); audited once the server's response to it completes. Simple queries,
// and Parse and Execute in the extended protocol, whose portals' results are masked per their statement.
import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { GatewaySession, ReviewBinding, SessionStats } from "../../core/session.ts";
import * as codec from "./codec.ts";
import { durableWait } from "./durability.ts";
import type { ExtendedState } from "./extended-state.ts";
import {
  ALLOW_PREPARED,
  auditRefusal,
  maskingRefusal,
  policyFailure,
  refusalError,
  refusalMessage,
  refusedParse,
  refusedQuery,
} from "./refusals.ts";
import type { RelayIo } from "./relay-io.ts";
import { CommandMask, type ResultMasking } from "./result-masking.ts";
import type { ServerStream } from "./server-stream.ts";
import type { PostgresTarget } from "./target.ts";
import type { Tracked } from "./tracked.ts";
import { type Pending, type ResponseTracker, rowsFromTag } from "./tracker.ts";
import { wireError } from "./wire-error.ts";

export interface CommandFlowDeps {
  gw: GatewaySession<PostgresTarget>;
  io: RelayIo;
  server: ServerStream;
  tracker: ResponseTracker<Tracked>;
  state: ExtendedState;
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

export class CommandFlow {
  private readonly gw: GatewaySession<PostgresTarget>;
  private readonly io: RelayIo;
  private readonly server: ServerStream;
  private readonly tracker: ResponseTracker<Tracked>;
  private readonly state: ExtendedState;
  private readonly masking: ResultMasking | null;
  private readonly stats: SessionStats;
  /** Writes of the open transaction were forwarded before their records were durable: its end waits. */
  private deferredDurable = false;

  constructor(deps: CommandFlowDeps) {
    this.gw = deps.gw;
    this.io = deps.io;
    this.server = deps.server;
    this.tracker = deps.tracker;
    this.state = deps.state;
    this.masking = deps.masking;
    this.stats = deps.stats;
  }

  /** 'Q' Query; returns a promise when it must wait (decision, review or durable record). */
  query(m: Uint8Array, text: string, t: number): Promise<void> | undefined {
    return this.decideThen({ protocol: "postgres", text }, (cmd, d) => this.forwardQuery(m, cmd, d, t));
  }

  /** 'P' Parse: the statement is decided here, once, for every Execute of its portals. */
  parse(m: Uint8Array, name: string, query: string): Promise<void> | undefined {
    return this.decideThen({ protocol: "postgres", text: query, statementName: name }, (cmd, d) =>
      this.forwardParse(m, name, cmd, d),
    );
  }

  /** Decides, then continues synchronously when the decision is immediate (the cached hot path). */
  private decideThen(
    command: Command,
    next: (cmd: Command, d: Decision) => Promise<void> | undefined,
  ): Promise<void> | undefined {
    const resolving = resolveThroughCatalog(this.gw, this.masking, command);
    if (resolving) return resolving.then(() => this.decideNow(command, next));
    return this.decideNow(command, next);
  }

  private decideNow(
    command: Command,
    next: (cmd: Command, d: Decision) => Promise<void> | undefined,
  ): Promise<void> | undefined {
    let decided: Decision | Promise<Decision>;
    if (!this.gw.recordable()) decided = auditRefusal();
    else {
      try {
        decided = this.gw.decide(command);
      } catch {
        decided = policyFailure();
      }
    }
    if (decided instanceof Promise) {
      return decided.then(
        (d) => next(command, d),
        () => next(command, policyFailure()),
      );
    }
    return next(command, decided);
  }

  private forwardQuery(m: Uint8Array, command: Command, d: Decision, t: number): Promise<void> | undefined {
    const tracked: Tracked = { command, decision: d, start: t };
    if (d.action === "review") {
      return this.holdForReview(command, d, {}, (final) => this.forwardQuery(m, command, final, nowMicros()));
    }
    if (d.action !== "allow") return this.refuse(tracked, "query", refusedQuery);
    const forward = () =>
      this.afterDurable(tracked, "query", () => {
        this.io.send(m);
        this.tracker.expect("query", tracked);
      });
    const copying = this.prepareCopyMask(tracked);
    if (!copying) return forward();
    return copying.then(forward, (err) =>
      this.refuse({ ...tracked, decision: maskingRefusal(err) }, "query", refusedQuery),
    );
  }

  /** A masked command with COPY ... TO STDOUT: its columns are learned before it runs (copy-mask.ts). */
  private prepareCopyMask(tracked: Tracked): Promise<void> | null {
    const cm = this.maskOf(tracked);
    return cm && this.masking ? this.masking.prepareCopy(cm) : null;
  }

  private forwardParse(m: Uint8Array, name: string, command: Command, d: Decision): undefined {
    this.state.parsed(name, command, d);
    // Under review, parsing runs nothing: the Parse goes through and its Execute is held (execute).
    if (d.action !== "allow" && d.action !== "review") {
      // Audited now: the statement never reaches the server, so no Execute will report it.
      this.gw.completed(command, d, { tag: null, rows: 0, error: refusalError(d), durationUs: 0 });
      if (d.record === "sync") this.server.holdUntilDurable();
      this.stats.commands++;
      this.refuse({ command, decision: d, start: nowMicros() }, "parse", refusedParse(name), false);
      return;
    }
    this.io.send(m);
    this.tracker.expect("parse");
  }

  /** 'E' Execute of a portal: runs under the decision its statement got at Parse. */
  execute(m: Uint8Array, portal: string, t: number): Promise<void> | undefined {
    const name = this.state.statementOf(portal);
    const prepared = name === undefined ? undefined : this.state.statement(name);
    // A portal over an SQL-level PREPAREd statement: its text was decided when it was prepared.
    const command = prepared?.command ?? { protocol: "postgres", text: "", statementName: name ?? "" };
    const decision = prepared?.decision ?? ALLOW_PREPARED;
    const tracked: Tracked = { command, decision, start: t, portal };
    if (decision.action === "review") {
      const binding = this.state.reviewBinding(portal);
      // No Bind seen for this portal means nothing to bind an approval to: refused (fail closed).
      if (!binding)
        return this.refuseExecute(tracked, {
          ...decision,
          action: "deny",
          rule: "custos.approval_unavailable",
          reason: "no bind parameters to review",
        });
      return this.holdForReview(command, decision, binding, (final) => {
        const released: Tracked = { command, decision: final, start: nowMicros(), portal };
        if (final.action !== "allow") return this.refuseExecute(released, final);
        return this.afterDurable(released, "execute", () => {
          this.io.send(m);
          this.tracker.expect("execute", released);
        });
      });
    }
    if (decision.action !== "allow") {
      // Its Parse was refused, so the server has no such statement and will fail this Execute itself.
      this.io.send(m);
      this.tracker.expect("execute", null);
      return;
    }
    if (!this.gw.recordable()) return this.refuseExecute(tracked);
    const forward = () =>
      this.afterDurable(tracked, "execute", () => {
        this.io.send(m);
        this.tracker.expect("execute", tracked);
      });
    const copying = this.prepareCopyMask(tracked);
    if (!copying) return forward();
    return copying.then(forward, (err) => this.refuseExecute(tracked, maskingRefusal(err)));
  }

  /** An Execute refused late (audit store lost): the server must fail it, so a refused Parse stands in. */
  private refuseExecute(tracked: Tracked, d: Decision = auditRefusal()): undefined {
    this.gw.completed(tracked.command, d, { tag: null, rows: 0, error: refusalError(d), durationUs: 0 });
    this.stats.commands++;
    this.refuse({ ...tracked, decision: d }, "parse", refusedParse(""), false);
    return;
  }

  /**
   * A `review` decision: the command waits while humans decide. The client is told at once (a NOTICE
   * naming the request and where to approve it); then the command goes on as approved, or is refused.
   */
  private holdForReview(
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
    return this.gw.review(command, d, binding, notify).then((final) => {
      if (this.io.stopped) return;
      // Only an approval releases the command; anything else (even a second review) is a refusal.
      return next(final.action === "allow" ? final : { ...final, action: "deny" });
    });
  }

  /** For `record: sync`, the command waits until everything recorded so far is committed (durability.ts). */
  private afterDurable(
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

  private refuse(
    tracked: Tracked,
    kind: "query" | "parse",
    substitute: Uint8Array,
    report = true,
  ): undefined {
    this.io.send(substitute);
    this.server.refusalsPending++;
    this.tracker.expect(kind, report ? tracked : null, refusalMessage(tracked.decision));
    return;
  }

  /** 'F' FunctionCall: the fast-path interface calls a function by OID, out of the policy's sight: refused. */
  refuseFunctionCall(): void {
    const err = new CustosError(
      "protocol.unsupported",
      "fast-path function calls are not supported by Custos",
    );
    this.io.send(refusedQuery);
    this.server.refusalsPending++;
    this.tracker.expect("function", null, wireError(err, "ERROR"));
  }

  /**
   * An Execute's results are masked with the columns of its portal, which the client may never have asked
   * for: the gateway describes the portal itself, right after the Bind, and keeps the answer to itself.
   */
  describeForMasking(portal: string, statement: string): void {
    const prepared = this.state.statement(statement);
    const cm = this.masking?.begin(prepared?.decision.mask, prepared?.command.text);
    this.state.setPortalMask(portal, cm ?? null);
    if (!cm) return;
    this.io.send(new codec.Writer().byte(0x50).cstring(portal).finish("D"));
    this.tracker.expect("describe", null, null, { internal: true, mask: cm });
  }

  /** The masking state a command's results need; null when its decision masks nothing. */
  maskOf(t: Tracked): CommandMask | null {
    if (!this.masking || !t.decision.mask?.length) return null;
    if (t.portal !== undefined) {
      // No description of the portal means no masker: its rows are withheld (see maskRow), never leaked.
      t.mask ??= this.state.portalMask(t.portal) ?? new CommandMask(t.decision.mask, t.command.text);
    } else t.mask ??= this.masking.begin(t.decision.mask, t.command.text);
    return t.mask ?? null;
  }

  /** The tracker's completion of a request: its outcome is audited, and held back when it must be durable. */
  onCompleted(p: Pending<Tracked>): void {
    if (p.refusal) this.server.refusalsPending--;
    const tracked = p.command;
    if (!tracked) return;
    this.stats.commands++;
    if (tracked.mask) {
      // Evidence of what was masked in this command's results (F4): columns, detectors, counts; no values.
      const results = tracked.mask.evidence();
      if (results.length)
        this.gw.event("masking", { text: tracked.command.text, rule: tracked.decision.rule, results });
    }
    const r = p.result;
    const tag = r.tags.length ? r.tags.join("; ") : null;
    const rows = r.rows || (tag ? (rowsFromTag(r.tags[r.tags.length - 1]!) ?? 0) : 0);
    const error = p.refusal
      ? refusalError(tracked.decision)
      : r.skipped
        ? { code: "", message: "not executed: an earlier message in the pipeline failed" }
        : (r.error ?? undefined);
    this.gw.completed(tracked.command, tracked.decision, {
      tag: r.error || r.skipped ? null : tag,
      rows,
      error,
      durationUs: Math.max(0, nowMicros() - tracked.start),
    });
    if (tracked.decision.record === "sync" && !tracked.deferred) this.server.holdUntilDurable();
  }
}
