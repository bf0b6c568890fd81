// The relay of an authenticated session. Client messages are handled one at a time, in order: each
// command is decided before it is forwarded, and held until its record is durable when the decision asks
// for it. Server messages are recorded and paired with their commands, and forwarded as the raw chunk
// unless one of them must be rewritten.
//
// A refused command is not answered by the gateway itself: it is replaced by a statement the server rejects
// with a syntax error, and the gateway rewrites that error into the refusal. The server thus moves its own
// transaction and pipeline state exactly as it would for a failing statement (a transaction block becomes
// failed, messages up to Sync are skipped), and responses keep their order without the gateway emulating it.
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { Frame } from "../../core/frame.ts";
import type { GatewaySession, SessionStats } from "../../core/session.ts";
import type { Conn } from "../../net/conn.ts";
import * as codec from "./codec.ts";
import { frameClient, frameServer } from "./frames.ts";
import type { PostgresTarget } from "./target.ts";
import { type Pending, ResponseTracker, rowsFromTag } from "./tracker.ts";
import { wireError } from "./wire-error.ts";

export interface RelayOptions {
  client: Conn;
  upstream: Conn;
  session: GatewaySession<PostgresTarget>;
  maxServerMessage: number;
  /** The session's client framer, which may hold a partial message already. */
  clientFramer: codec.MessageFramer;
  onUpstreamClosed(): void;
  onFatal(err: CustosError): void;
  release(): void;
}

interface Tracked {
  command: Command;
  decision: Decision;
  /** Epoch microseconds when forwarded. */
  start: number;
}

interface Prepared {
  command: Command;
  decision: Decision;
}

/** Replaces a refused statement; the server answers it with SQLSTATE 42601, which the tracker rewrites. */
const REFUSAL_SQL = "custos_refused_statement";
const refusedQuery = codec.query(REFUSAL_SQL);
const refusedParse = (name: string) =>
  new codec.Writer().cstring(name).cstring(REFUSAL_SQL).int16(0).finish("P");

/** Client messages queued beyond this pause the client's socket until the queue drains. */
const INBOX_PAUSE = 512;

const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

export class Relay {
  private readonly client: Conn;
  private readonly upstream: Conn;
  private readonly gw: GatewaySession<PostgresTarget>;
  private readonly serverFramer: codec.MessageFramer;
  private readonly tracker: ResponseTracker<Tracked>;
  private inbox: Uint8Array[] = [];
  private inboxHead = 0;
  private waiting = false;
  private toServer: Uint8Array[] = [];
  private statements = new Map<string, Prepared>();
  private portals = new Map<string, string>();
  private pauses = new Set<"backpressure" | "inbox">();
  /** Bytes of the server framer's partial message already forwarded raw to the client. */
  private forwardedPrefix = 0;
  /** Bytes of the server framer's partial message not yet forwarded. */
  private held = 0;
  private refusalsPending = 0;
  /**
   * Server bytes held back while the statement event of a completed `record: sync` command is being
   * committed: the client learns the outcome only once its audit record is durable. Null when not holding.
   */
  private ackHold: Uint8Array[] | null = null;
  private ackWaits = 0;
  private stopped = false;
  lastServerActivity = Date.now();
  readonly stats: SessionStats = { bytesFromClient: 0, bytesToClient: 0, commands: 0 };

  constructor(private readonly opts: RelayOptions) {
    this.client = opts.client;
    this.upstream = opts.upstream;
    this.gw = opts.session;
    this.serverFramer = new codec.MessageFramer(opts.maxServerMessage);
    this.tracker = new ResponseTracker<Tracked>({ completed: (p) => this.onCompleted(p) });
    this.upstream.events = {
      data: (chunk) => {
        try {
          this.onServerData(chunk);
        } catch (err) {
          opts.onFatal(asProtocolError(err));
        }
      },
      close: () => opts.onUpstreamClosed(),
    };
    // Backpressure both ways: a slow reader on one side stops reads on the other.
    this.client.onPressure = (congested) => (congested ? this.upstream.pause() : this.upstream.resume());
    this.upstream.onPressure = (congested) => this.setPaused("backpressure", congested);
  }

  // --- client → server --------------------------------------------------------------------------------------

  onClientData(chunk: Uint8Array): void {
    this.stats.bytesFromClient += chunk.length;
    this.opts.clientFramer.push(chunk, (_type, m) => this.inbox.push(m));
    this.pump();
  }

  onClientMessages(messages: Uint8Array[]): void {
    for (const m of messages) {
      this.stats.bytesFromClient += m.length;
      this.inbox.push(m);
    }
    this.pump();
  }

  private pump(): void {
    while (!this.waiting && !this.stopped && this.inboxHead < this.inbox.length) {
      const m = this.inbox[this.inboxHead++]!;
      let pending: Promise<void> | undefined;
      try {
        pending = this.handle(m);
      } catch (err) {
        return this.opts.onFatal(asProtocolError(err));
      }
      if (pending) {
        this.waiting = true;
        this.flushToServer();
        this.setPaused("inbox", this.inbox.length - this.inboxHead > INBOX_PAUSE);
        pending.then(
          () => {
            this.waiting = false;
            this.pump();
          },
          (err) => this.opts.onFatal(asProtocolError(err)),
        );
        return;
      }
    }
    if (this.inboxHead === this.inbox.length) {
      this.inbox = [];
      this.inboxHead = 0;
      this.setPaused("inbox", false);
    }
    this.flushToServer();
  }

  private send(m: Uint8Array): void {
    this.toServer.push(m);
  }

  private flushToServer(): void {
    const out = this.toServer;
    if (out.length === 0) return;
    this.toServer = [];
    this.upstream.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  private record(frame: Frame): void {
    this.gw.record(frame);
  }

  /** Handles one client message; returns a promise when it must wait (decision or durable record). */
  private handle(m: Uint8Array): Promise<void> | undefined {
    const type = m[0]!;
    const t = nowMicros();
    const frame = frameClient(type, m, t);
    if (frame) this.record(frame);
    switch (type) {
      case 0x51 /* Q Query */:
        return this.decideThen({ protocol: "postgres", text: codec.decodeQuery(m) }, (cmd, d) =>
          this.forwardQuery(m, cmd, d, t),
        );
      case 0x50 /* P Parse */:
        {
          const { name, query } = codec.decodeParse(m);
          return this.decideThen({ protocol: "postgres", text: query, statementName: name }, (cmd, d) =>
            this.forwardParse(m, name, cmd, d),
          );
        }
      case 0x42 /* B Bind */:
        {
          const { portal, statement } = codec.decodeBind(m);
          this.portals.set(portal, statement);
          this.send(m);
          this.tracker.expect("bind");
          return;
        }
      case 0x45 /* E Execute */:
        return this.forwardExecute(m, codec.decodeExecute(m).portal, t);
      case 0x44 /* D Describe */:
        codec.decodeTarget(m);
        this.send(m);
        this.tracker.expect("describe");
        return;
      case 0x43 /* C Close */:
        {
          const target = codec.decodeTarget(m);
          if (target.which === "S") this.statements.delete(target.name);
          else this.portals.delete(target.name);
          this.send(m);
          this.tracker.expect("close");
          return;
        }
      case 0x53 /* S Sync */:
        this.send(m);
        this.tracker.expect("sync");
        return;
      case 0x48 /* H Flush */:
      case 0x64 /* d CopyData */:
      case 0x63 /* c CopyDone */:
      case 0x66 /* f CopyFail */:
        this.send(m);
        return;
      case 0x58 /* X Terminate */:
        this.send(m);
        return;
      case 0x46 /* F FunctionCall */:
        {
          // The fast-path interface calls a function by OID, out of the policy's sight: refused.
          const err = new CustosError(
            "protocol.unsupported",
            "fast-path function calls are not supported by Custos",
          );
          this.send(refusedQuery);
          this.refusalsPending++;
          this.tracker.expect("function", null, wireError(err, "ERROR"));
          return;
        }
      default:
        throw new CustosError(
          "protocol.malformed",
          `unexpected message type '${String.fromCharCode(type)}' from the client`,
        );
    }
  }

  /** Decides, then continues synchronously when the decision is immediate (the cached hot path). */
  private decideThen(
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
    if (d.action !== "allow") return this.refuse(tracked, "query", refusedQuery);
    return this.afterDurable(d, tracked, "query", () => {
      this.send(m);
      this.tracker.expect("query", tracked);
    });
  }

  private forwardParse(m: Uint8Array, name: string, command: Command, d: Decision): undefined {
    this.statements.set(name, { command, decision: d });
    if (d.action !== "allow") {
      // Audited now: the statement never reaches the server, so no Execute will report it.
      this.gw.completed(command, d, { tag: null, rows: 0, error: refusalError(d), durationUs: 0 });
      if (d.record === "sync") this.holdUntilDurable();
      this.stats.commands++;
      this.refuse({ command, decision: d, start: nowMicros() }, "parse", refusedParse(name), false);
      return;
    }
    this.send(m);
    this.tracker.expect("parse");
  }

  private forwardExecute(m: Uint8Array, portal: string, t: number): Promise<void> | undefined {
    const name = this.portals.get(portal);
    const prepared = name === undefined ? undefined : this.statements.get(name);
    // A portal over an SQL-level PREPAREd statement: its text was decided when it was prepared.
    const command = prepared?.command ?? { protocol: "postgres", text: "", statementName: name ?? "" };
    const decision = prepared?.decision ?? ALLOW_PREPARED;
    const tracked: Tracked = { command, decision, start: t };
    if (decision.action !== "allow") {
      // Its Parse was refused, so the server has no such statement and will fail this Execute itself.
      this.send(m);
      this.tracker.expect("execute", null);
      return;
    }
    if (!this.gw.recordable()) return this.refuseExecute(tracked);
    return this.afterDurable(decision, tracked, "execute", () => {
      this.send(m);
      this.tracker.expect("execute", tracked);
    });
  }

  /** An Execute refused late (audit store lost): the server must fail it, so a refused Parse stands in. */
  private refuseExecute(tracked: Tracked): undefined {
    const d = auditRefusal();
    this.gw.completed(tracked.command, d, { tag: null, rows: 0, error: refusalError(d), durationUs: 0 });
    this.stats.commands++;
    this.refuse({ ...tracked, decision: d }, "parse", refusedParse(""), false);
    return;
  }

  /** For `record: sync`, the command waits until everything recorded so far is committed. */
  private afterDurable(
    d: Decision,
    tracked: Tracked,
    kind: "query" | "execute",
    forward: () => void,
  ): Promise<void> | undefined {
    if (d.record !== "sync") {
      forward();
      return;
    }
    this.flushToServer();
    return this.gw.durable().then(forward, () => {
      const refused = { ...tracked, decision: auditRefusal() };
      if (kind === "query") this.refuse(refused, "query", refusedQuery);
      else this.refuseExecute(refused);
    });
  }

  private refuse(
    tracked: Tracked,
    kind: "query" | "parse",
    substitute: Uint8Array,
    report = true,
  ): undefined {
    this.send(substitute);
    this.refusalsPending++;
    this.tracker.expect(kind, report ? tracked : null, refusalMessage(tracked.decision));
    return;
  }

  // --- server → client --------------------------------------------------------------------------------------

  /** True while a request is in flight: a long-running statement is not an idle session. */
  get busy(): boolean {
    return this.tracker.outstanding > 0 || this.waiting || this.ackHold !== null;
  }

  onServerData(chunk: Uint8Array): void {
    this.stats.bytesToClient += chunk.length;
    this.lastServerActivity = Date.now();
    const t = nowMicros();
    if (this.refusalsPending === 0 && this.held === 0) {
      // Fast path: nothing to rewrite, so the chunk goes out as it came; a copy of the messages is tracked
      // first, since completing a `record: sync` command in it holds the chunk until the record is durable.
      this.serverFramer.push(chunk, (type, m) => this.observeServer(type, m, t));
      this.forwardedPrefix = this.serverFramer.buffered;
      this.toClient(chunk);
      return;
    }
    const out: Uint8Array[] = [];
    let completedAny = false;
    this.serverFramer.push(chunk, (type, m) => {
      const replacement = this.observeServer(type, m, t);
      if (replacement) out.push(replacement);
      else out.push(completedAny || this.forwardedPrefix === 0 ? m : m.subarray(this.forwardedPrefix));
      completedAny = true;
    });
    if (completedAny) {
      this.forwardedPrefix = 0;
      this.held = this.serverFramer.buffered;
    } else {
      this.held = this.serverFramer.buffered - this.forwardedPrefix;
    }
    if (out.length) this.toClient(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  private toClient(bytes: Uint8Array): void {
    if (this.ackHold) this.ackHold.push(bytes);
    else this.client.write(bytes);
  }

  /** Holds server bytes until everything recorded so far (the statement event included) is committed. */
  private holdUntilDurable(): void {
    this.ackWaits++;
    this.ackHold ??= [];
    this.gw.durable().then(
      () => {
        if (--this.ackWaits > 0 || this.stopped) return;
        const held = this.ackHold ?? [];
        this.ackHold = null;
        if (held.length) this.client.write(held.length === 1 ? held[0]! : Buffer.concat(held));
      },
      // The command ran but its outcome cannot be recorded: the client is not told it succeeded.
      () =>
        this.opts.onFatal(
          new CustosError("audit.unavailable", "audit store unavailable: the outcome could not be recorded"),
        ),
    );
  }

  /** Records and tracks one server message; returns its replacement when it must be rewritten. */
  private observeServer(type: number, m: Uint8Array, t: number): Uint8Array | null {
    const frame = frameServer(type, m, t);
    if (frame) this.record(frame);
    const replacement = this.tracker.onServerMessage(type, m);
    return replacement;
  }

  private onCompleted(p: Pending<Tracked>): void {
    if (p.refusal) this.refusalsPending--;
    const tracked = p.command;
    if (!tracked) return;
    this.stats.commands++;
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
    if (tracked.decision.record === "sync") this.holdUntilDurable();
  }

  private setPaused(reason: "backpressure" | "inbox", paused: boolean): void {
    const had = this.pauses.size > 0;
    if (paused) this.pauses.add(reason);
    else this.pauses.delete(reason);
    const has = this.pauses.size > 0;
    if (had !== has) has ? this.client.pause() : this.client.resume();
  }

  /** Ends the upstream connection; returns the session's byte and command counts. */
  stop(): SessionStats {
    if (!this.stopped) {
      this.stopped = true;
      this.upstream.events = null;
      this.upstream.end(codec.terminate);
      this.opts.release();
    }
    return this.stats;
  }
}

const ALLOW_PREPARED: Decision = {
  action: "allow",
  reason: "executes a statement prepared by an earlier, decided PREPARE",
  rule: "custos.sql_prepared",
  record: "sync",
  mask: [],
};

function auditRefusal(): Decision {
  return {
    action: "deny",
    reason: "audit store unavailable",
    rule: "custos.audit_unavailable",
    record: "sync",
    mask: [],
  };
}

function policyFailure(): Decision {
  return {
    action: "deny",
    reason: "policy evaluation failed",
    rule: "custos.policy_error",
    record: "sync",
    mask: [],
  };
}

function refusalCode(d: Decision): CustosError {
  if (d.rule === "custos.audit_unavailable") {
    return new CustosError("audit.unavailable", "audit store unavailable: statement refused");
  }
  if (d.action === "review") {
    return new CustosError("policy.review", `approval required: ${d.reason} (rule ${d.rule})`);
  }
  return new CustosError("policy.denied", `permission denied by policy: ${d.reason} (rule ${d.rule})`);
}

function refusalMessage(d: Decision): Uint8Array {
  return wireError(refusalCode(d), "ERROR");
}

function refusalError(d: Decision): { code: string; message: string } {
  const err = refusalCode(d);
  return { code: err.code, message: err.message };
}

function asProtocolError(err: unknown): CustosError {
  if (err instanceof CustosError) return err;
  if (err instanceof codec.CodecError) {
    return new CustosError(
      err.kind === "too_large" ? "protocol.too_large" : "protocol.malformed",
      err.message,
    );
  }
  return new CustosError("internal", String(err));
}
