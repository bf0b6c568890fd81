// A client command from decision to completion: decided (the cached decision synchronously), then held for
// review or for its record to be durable when the decision asks for it, then forwarded, or refused with a
// stand-in statement (refusals.ts); audited once the server's response to it completes. Simple queries,
// and Parse, Bind, Execute and Close in the extended protocol. An execution that runs a session object (a
// portal, a prepared statement, a cursor) is decided with that object's decision (object-executions.ts);
// the objects change as the server confirms each request (objects.ts).
import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import { type Decision, deny } from "../../core/decision.ts";
import { type ObjectOp, type ObjectStatement, objectStatements } from "../../sql/session-objects.ts";
import * as codec from "./codec.ts";
import { CommandBase, type CommandFlowDeps } from "./command-base.ts";
import { callText, decodeFunctionCall, type FunctionCall } from "./function-call.ts";
import { unknownObject } from "./object-decisions.ts";
import { type Execution, ObjectExecutions } from "./object-executions.ts";
import type { ObjectEffect, PortalObject, StatementObject } from "./objects.ts";
import { maskingRefusal, policyFailure, refusalError, refusedParse, refusedQuery } from "./refusals.ts";
import type { CommandMask } from "./result-masking.ts";
import type { Tracked } from "./tracked.ts";
import { type Pending, rowsFromTag } from "./tracker.ts";

export type { CommandFlowDeps } from "./command-base.ts";

const sql = (text: string, statementName?: string): Command =>
  statementName === undefined
    ? { protocol: "postgres", text }
    : { protocol: "postgres", text, statementName };

/** A Bind's parameters, copied out of the client's chunk: what an approval of its portal binds to. */
function keptBinding(m: Uint8Array): PortalObject["binding"] {
  const b = codec.decodeBind(m);
  return { params: b.params.map((p) => p && p.slice()), paramFormats: b.paramFormats };
}

export class CommandFlow extends CommandBase {
  private readonly executions: ObjectExecutions;

  constructor(deps: CommandFlowDeps) {
    super(deps);
    this.executions = new ObjectExecutions(this.objects, (c) => this.decideSafely(c));
  }

  /** 'Q' Query; returns a promise when it must wait (decision, review or durable record). */
  query(m: Uint8Array, text: string, t: number): Promise<void> | undefined {
    // A Query commits an open implicit transaction: writes that ran ahead of their records go first.
    const gate = this.commitGate();
    if (gate) return gate.then(() => this.query(m, text, t));
    const ops = objectStatements(text);
    if (ops) return this.objectQuery(m, text, ops, t);
    return this.decideThen(sql(text), (cmd, d) => this.forwardQuery(m, cmd, d, t, null));
  }

  /** A Query that creates, runs or drops session objects: decided with the objects it runs. */
  private objectQuery(
    m: Uint8Array,
    text: string,
    ops: readonly ObjectStatement[],
    t: number,
  ): Promise<void> {
    return this.executions.query(text, ops).then(
      (x) => this.forwardQuery(m, x.command, x.decision, t, x),
      () => this.forwardQuery(m, sql(text), policyFailure(), t, null),
    );
  }

  /** 'P' Parse: the statement is decided here, once, for every Execute of its portals. */
  parse(m: Uint8Array, name: string, query: string): Promise<void> | undefined {
    const ops = objectStatements(query);
    const op = ops?.[0]?.op;
    // An EXECUTE is decided as its arguments here, and with its prepared statement when its portal runs.
    const policyText = op?.op === "execute" && !op.nested ? op.args : query;
    return this.decideThen(sql(policyText, name), (_cmd, d) =>
      this.forwardParse(m, name, { command: sql(query, name), decision: this.withTarget(op, d), ops }),
    );
  }

  /**
   * A Parse of an EXECUTE or FETCH whose target is known not to exist is refused at once (its Execute would
   * be refused anyway, as the target is looked up again then).
   */
  private withTarget(op: ObjectOp | null | undefined, d: Decision): Decision {
    if (d.action === "deny" || (op?.op !== "execute" && op?.op !== "fetch")) return d;
    const found = op.op === "execute" ? this.objects.statement(op.name) : this.objects.portal(op.name);
    if (found === "wait" || found.object) return d;
    return unknownObject(op.op === "execute" ? "statement" : "portal", op.name);
  }

  private forwardQuery(
    m: Uint8Array,
    command: Command,
    d: Decision,
    t: number,
    x: Execution | null,
  ): Promise<void> | undefined {
    if (d.action === "review" && x?.preparesOnly) {
      // PREPARE runs nothing: each EXECUTE of the statement is reviewed, with its arguments.
      d = { ...d, action: "allow", reason: `prepared under review (each EXECUTE is reviewed): ${d.reason}` };
    }
    const tracked: Tracked = { command, decision: d, start: t };
    // PREPARE, EXECUTE, DECLARE…: what they run is not the statement as written (durability.ts).
    if (x) tracked.runsObject = true;
    if (d.action === "review") {
      return this.holdForReview(command, d, {}, (final) =>
        this.forwardQuery(m, command, final, nowMicros(), x),
      );
    }
    if (d.action !== "allow") return this.refuse(tracked, "query", refusedQuery);
    const forward = () =>
      this.afterDurable(tracked, "query", (hideReady) => {
        this.io.send(m);
        this.expect("query", tracked, null, x?.effects(d), hideReady);
      });
    const copying = this.prepareCopyMask(tracked);
    if (!copying) return forward();
    return copying.then(forward, (err) =>
      this.refuse({ ...tracked, decision: maskingRefusal(err) }, "query", refusedQuery),
    );
  }

  private forwardParse(m: Uint8Array, name: string, stmt: StatementObject): undefined {
    const { command, decision: d } = stmt;
    // A failed Parse of the unnamed statement drops it: the server drops it before parsing.
    const effect = this.objects.change("statement", name, stmt, { dropOnFailure: name === "" });
    // Under review, parsing runs nothing: the Parse goes through and its Execute is held (execute).
    if (d.action !== "allow" && d.action !== "review") {
      // Audited now: the statement never reaches the server, so no Execute will report it.
      this.gw.completed(command, d, { tag: null, rows: 0, error: refusalError(d), durationUs: 0 });
      if (d.record === "sync") this.server.holdUntilDurable();
      this.stats.commands++;
      this.refuse({ command, decision: d, start: nowMicros() }, "parse", refusedParse(name), false, [effect]);
      return;
    }
    this.io.send(m);
    this.expect("parse", null, null, [effect]);
  }

  /** 'B' Bind: a portal over the statement the server has under that name, as the relay decided it. */
  bind(m: Uint8Array): Promise<void> | undefined {
    const b = codec.decodeBindNames(m);
    const found = this.objects.statement(b.statement);
    if (found === "wait") return this.objects.settled().then(() => this.bind(m));
    const stmt = found.object;
    // An approval binds to the parameters of the execution it releases; only then are they decoded.
    const keep = stmt !== null && (stmt.decision.action === "review" || stmt.ops !== null);
    const portal: PortalObject = {
      statement: stmt,
      statementName: b.statement,
      holdable: false,
      committed: false,
      binding: keep ? keptBinding(m) : null,
    };
    this.io.send(m);
    this.expect("bind", null, null, [
      this.objects.change("portal", b.portal, portal, { dropOnFailure: b.portal === "" }),
    ]);
    return;
  }

  /** 'C' Close of a statement or a portal. */
  close(m: Uint8Array): void {
    const target = codec.decodeTarget(m);
    this.io.send(m);
    this.expect("close", null, null, [
      this.objects.change(target.which === "S" ? "statement" : "portal", target.name, null),
    ]);
  }

  /** 'S' Sync: commits the implicit transaction, so it waits for the records of writes that ran ahead. */
  sync(m: Uint8Array): Promise<void> | undefined {
    const send = () => {
      this.io.send(m);
      this.expect("sync", null);
    };
    const gate = this.commitGate();
    if (gate) return this.gateSync(gate, send);
    send();
    return;
  }

  /** 'E' Execute of a portal: runs under the decision of what the portal runs, or is refused. */
  execute(m: Uint8Array, name: string, t: number): Promise<void> | undefined {
    const found = this.objects.portal(name);
    if (found === "wait") return this.objects.settled().then(() => this.execute(m, name, t));
    const p = found.object;
    if (!p) {
      const d = unknownObject("portal", name);
      return this.refuseExecute(
        { command: sql(`/* Execute of portal "${name}" */`), decision: d, start: t },
        d,
      );
    }
    const go = (x: Execution | "wait"): Promise<void> | undefined =>
      x === "wait"
        ? this.objects.settled().then(() => this.execute(m, name, t))
        : this.runExecute(m, name, p, x, t);
    const x = this.executions.portal(p);
    if (x instanceof Promise) {
      return x.then(go, () => {
        const failed = policyFailure();
        const command = sql(p.statement?.command.text ?? `/* Execute of portal "${name}" */`);
        return this.refuseExecute({ command, decision: failed, start: t }, failed);
      });
    }
    return go(x);
  }

  private runExecute(
    m: Uint8Array,
    name: string,
    p: PortalObject,
    x: Execution,
    t: number,
  ): Promise<void> | undefined {
    const { command, decision } = x;
    const tracked: Tracked = { command, decision, start: t, portal: name };
    if (decision.action === "review") {
      // No Bind parameters kept for this portal means nothing to bind an approval to: refused (fail closed).
      if (!p.binding)
        return this.refuseExecute(tracked, {
          ...decision,
          action: "deny",
          rule: "custos.approval_unavailable",
          reason: "no bind parameters to review",
        });
      return this.holdForReview(command, decision, p.binding, (final) => {
        const released: Tracked = { command, decision: final, start: nowMicros(), portal: name };
        if (final.action !== "allow") return this.refuseExecute(released, final);
        // The portal's later Executes (after PortalSuspended) continue this approved execution.
        p.approved = final;
        return this.sendExecute(m, name, p, x, released);
      });
    }
    // A portal over a statement whose Parse was refused (and audited then): refused again, not audited twice.
    const audited = decision === p.statement?.decision;
    if (decision.action !== "allow") return this.refuseExecute(tracked, decision, !audited);
    if (!this.gw.recordable()) return this.refuseExecute(tracked);
    return this.sendExecute(m, name, p, x, tracked);
  }

  private sendExecute(
    m: Uint8Array,
    name: string,
    p: PortalObject,
    x: Execution,
    tracked: Tracked,
  ): Promise<void> | undefined {
    tracked.mask = this.portalMask(name, p, tracked);
    if (p.statement?.ops) tracked.runsObject = true;
    const forward = () =>
      this.afterDurable(tracked, "execute", () => {
        this.io.send(m);
        this.expect("execute", tracked, null, x.effects(tracked.decision));
      });
    const copying = this.prepareCopyMask(tracked);
    if (!copying) return forward();
    return copying.then(forward, (err) => this.refuseExecute(tracked, maskingRefusal(err)));
  }

  /**
   * An Execute's results are masked with the columns of its portal, which the client may never have asked
   * for: the gateway describes the portal itself, before its first masked Execute, and keeps the answer.
   */
  private portalMask(name: string, p: PortalObject, t: Tracked): CommandMask | null {
    const rules = t.decision.mask;
    if (!this.masking || !rules.length) return null;
    if (p.mask) return p.mask;
    const cm = this.masking.begin(rules, t.command.text);
    p.mask = cm;
    if (!cm) return null;
    this.io.send(new codec.Writer().byte(0x50).cstring(name).finish("D"));
    this.tracker.expect("describe", null, null, { internal: true, mask: cm });
    return cm;
  }

  /**
   * 'F' FunctionCall: decided as `SELECT schema.fn($1, …)`, the OID resolved through the catalog
   * connection, and relayed. Its result is one raw value the masker cannot read: refused when masked.
   */
  functionCall(m: Uint8Array, t: number): Promise<void> | undefined {
    const gate = this.commitGate();
    if (gate) return gate.then(() => this.functionCall(m, t));
    const call = decodeFunctionCall(m);
    const refused = (reason: string) => {
      const d = deny(reason, "custos.function_call");
      const command = sql(`/* fast-path call of function OID ${call.oid} */`);
      return this.refuse({ command, decision: d, start: t }, "function", refusedQuery);
    };
    if (!this.masking) return refused("no catalog connection to resolve the function's OID");
    return this.masking.functionName(call.oid).then(
      (name) => {
        if (!name) return refused(`no function has OID ${call.oid}`);
        const command = sql(callText(name, call.params.length));
        return this.decideThen(command, (cmd, d) => this.forwardFunctionCall(m, cmd, d, call, t));
      },
      () => refused("the catalog could not resolve the function's OID"),
    );
  }

  private forwardFunctionCall(
    m: Uint8Array,
    command: Command,
    d: Decision,
    call: FunctionCall,
    t: number,
  ): Promise<void> | undefined {
    if (d.action === "allow" && d.mask.length) {
      d = {
        ...maskingRefusal(new Error("a fast-path function result cannot be masked")),
        statements: d.statements,
      };
    }
    const tracked: Tracked = { command, decision: d, start: t };
    if (d.action === "review") {
      const binding = { params: call.params.map((p) => p && p.slice()), paramFormats: call.paramFormats };
      return this.holdForReview(command, d, binding, (final) =>
        this.forwardFunctionCall(m, command, final, call, nowMicros()),
      );
    }
    if (d.action !== "allow") return this.refuse(tracked, "function", refusedQuery);
    return this.afterDurable(tracked, "function", () => {
      this.io.send(m);
      this.expect("function", tracked);
    });
  }

  /** The tracker's completion of a request: its outcome is audited, and held back when it must be durable. */
  onCompleted(p: Pending<Tracked>): void {
    if (p.refusal) this.server.refusalsPending--;
    this.settleObjects(p);
    const tracked = p.command;
    if (!tracked) return;
    if (tracked.gatewayCommit) return this.gatewayCommitted(tracked, p);
    this.stats.commands++;
    this.recordMasking(tracked);
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
    this.recorded(tracked);
    if (tracked.decision.record === "sync" && !tracked.deferred) this.server.holdUntilDurable();
  }

  /**
   * The session ends (client gone, drain, grant revoked, upstream lost) with statements still running or
   * held for review: each is recorded with its decision and the outcome `interrupted`, before session.end.
   * Returns how many of them were running upstream.
   */
  interrupted(reason: string): number {
    const error = {
      code: "interrupted",
      message: `the session ended (${reason}) before the statement completed`,
    };
    const detail = { outcome: "interrupted", interrupted_by: reason };
    let running = 0;
    for (const tracked of this.takeBeforeCommit())
      this.gw.event("statement.rollback", {
        text: tracked.command.text,
        error: { code: "interrupted", message: `the session ended (${reason}) before the gateway's COMMIT` },
      });
    for (const p of this.tracker.abandon()) {
      const tracked = p.command;
      if (!tracked) continue;
      if (tracked.gatewayCommit) {
        // The COMMIT was sent and its answer never came: the write may or may not be committed.
        this.gw.event("statement.rollback", {
          text: tracked.command.text,
          uncertain: true,
          error: {
            code: "interrupted",
            message: `the session ended (${reason}) awaiting the gateway's COMMIT`,
          },
        });
        continue;
      }
      this.stats.commands++;
      if (!p.refusal) running++;
      this.recordMasking(tracked);
      this.gw.completed(tracked.command, tracked.decision, {
        tag: null,
        rows: p.result.rows,
        error: p.refusal ? refusalError(tracked.decision) : error,
        durationUs: Math.max(0, nowMicros() - tracked.start),
        ...(p.refusal ? {} : { detail }),
      });
    }
    for (const held of this.takeHeld()) {
      this.stats.commands++;
      this.gw.completed(held.command, held.decision, {
        tag: null,
        rows: 0,
        error,
        durationUs: Math.max(0, nowMicros() - held.start),
        detail,
      });
    }
    return running;
  }

  /** Evidence of what was masked in this command's results (F4): columns, detectors, cells; no values. */
  private recordMasking(tracked: Tracked): void {
    if (!tracked.mask) return;
    const results = tracked.mask.evidence();
    if (results.length)
      this.gw.event("masking", { text: tracked.command.text, rule: tracked.decision.rule, results });
  }

  /**
   * The gateway's COMMIT around an autocommit write (durability.ts). The write's statement event already
   * says what it did; a COMMIT that fails (a deferred constraint, a serialization failure) rolled it back,
   * and the log says so beside it.
   */
  private gatewayCommitted(tracked: Tracked, p: Pending<Tracked>): void {
    const error = p.result.error;
    if (error) this.gw.event("statement.rollback", { text: tracked.command.text, error });
  }

  /** The objects a request changes take the change once the server confirms it (objects.ts). */
  private settleObjects(p: Pending<Tracked>): void {
    const r = p.result;
    if (r.error) this.objects.sawRollback();
    else for (const tag of r.tags) if (tag === "ROLLBACK") this.objects.sawRollback();
    const effects = p.effects as ObjectEffect[] | null;
    if (!effects) return;
    // A Query or Execute confirms its i-th statement with its i-th CommandComplete; Parse, Bind and Close
    // with their own completion messages.
    const statements = p.kind === "query" || p.kind === "execute";
    this.objects.settle(effects, (e) =>
      statements ? r.tags.length > e.index && r.tags[e.index] !== "SUSPENDED" : !r.error && !r.skipped,
    );
  }

  /** ReadyForQuery: portals that ended with their transaction are gone. */
  onReady(status: "I" | "T" | "E"): void {
    this.objects.ready(status);
  }
}
