// The relay of an authenticated session. Client messages are handled one at a time, in order: each
// command is decided before it is forwarded, and held until its record is durable when the decision asks
// for it. Server messages are recorded and paired with their commands, and forwarded as the raw chunk
// unless one of them must be rewritten.
//
// A refused command is not answered by the gateway itself: it is replaced by a statement the server rejects
// with a syntax error, and the gateway rewrites that error into the refusal. The server thus moves its own
// transaction and pipeline state exactly as it would for a failing statement (a transaction block becomes
// failed, messages up to Sync are skipped), and responses keep their order without the gateway emulating it.

import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { GatewaySession, ReviewBinding, SessionStats } from "../../core/session.ts";
import type { Conn } from "../../net/conn.ts";
import * as codec from "./codec.ts";
import { STREAM_KIND } from "./recording.ts";
import {
  ALLOW_PREPARED,
  asProtocolError,
  auditRefusal,
  maskingRefusal,
  policyFailure,
  refusalError,
  refusalMessage,
  refusedParse,
  refusedQuery,
} from "./refusals.ts";
import { CommandMask, maskingFailure, type ResultMasking } from "./result-masking.ts";
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
  /** Masks result streams per the decisions' mask rules; null disables masking (no rules can apply). */
  masking: ResultMasking | null;
}

interface Tracked {
  command: Command;
  decision: Decision;
  /** Epoch microseconds when forwarded. */
  start: number;
  /** The portal an Execute runs: its results are masked with the portal's CommandMask. */
  portal?: string;
  mask?: CommandMask | null;
  /** A write inside a transaction block whose durable wait moved to the transaction's end. */
  deferred?: boolean;
}

interface Prepared {
  command: Command;
  decision: Decision;
}

/** Client messages queued beyond this pause the client's socket until the queue drains. */
const INBOX_PAUSE = 512;

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
  /** Masking state per portal whose statement's decision masks results (set at Bind). */
  private portalMasks = new Map<string, CommandMask>();
  /** Server messages framed but not yet processed (masking waits for a catalog lookup). */
  private serverQueue: Uint8Array[] = [];
  private serverQueueHead = 0;
  /** Bytes of the first queued message already forwarded raw. */
  private serverQueueSent = 0;
  private serverHold = false;
  /** Bind parameters of portals over statements under review: an approval binds to them. */
  private reviewBinds = new Map<string, Required<ReviewBinding>>();
  private pauses = new Set<"backpressure" | "inbox" | "recording">();
  private upstreamPauses = new Set<"backpressure" | "recording" | "masking">();
  private recordingWait = false;
  private clientRec: Uint8Array[] = [];
  private clientRecT = 0;
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
  /** Writes of the open transaction were forwarded before their records were durable: its end waits. */
  private deferredDurable = false;
  lastServerActivity = Date.now();
  readonly stats: SessionStats = { bytesFromClient: 0, bytesToClient: 0, commands: 0 };

  constructor(private readonly opts: RelayOptions) {
    this.client = opts.client;
    this.upstream = opts.upstream;
    this.gw = opts.session;
    this.serverFramer = new codec.MessageFramer(opts.maxServerMessage);
    this.tracker = new ResponseTracker<Tracked>({
      completed: (p) => this.onCompleted(p),
      maskOf: (t) => this.maskOf(t),
    });
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
    this.client.onPressure = (congested) => this.setUpstreamPaused("backpressure", congested);
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
        this.flushRecording();
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
    this.flushRecording();
    this.flushToServer();
    this.watchRecordingBacklog();
  }

  /** A recording that falls behind pauses both sources until it catches up (bounded memory, nothing lost). */
  private watchRecordingBacklog(): void {
    if (this.recordingWait) return;
    const wait = this.gw.recordingBacklog();
    if (!wait) return;
    this.recordingWait = true;
    this.setPaused("recording", true);
    this.setUpstreamPaused("recording", true);
    wait.then(() => {
      this.recordingWait = false;
      if (this.stopped) return;
      this.setPaused("recording", false);
      this.setUpstreamPaused("recording", false);
    });
  }

  private setUpstreamPaused(reason: "backpressure" | "recording" | "masking", paused: boolean): void {
    const had = this.upstreamPauses.size > 0;
    if (paused) this.upstreamPauses.add(reason);
    else this.upstreamPauses.delete(reason);
    const has = this.upstreamPauses.size > 0;
    if (had !== has) has ? this.upstream.pause() : this.upstream.resume();
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

  /**
   * The recording keeps both byte streams exactly as they crossed the gateway (the server's after masking
   * and rewriting), one frame per batch of messages rather than per message: replay decodes them with the
   * codec (recording.ts). A batch is flushed before anything waits on durability, so a held statement's
   * own frame is part of the commit it waits for.
   */
  private recordClient(m: Uint8Array, t: number): void {
    if (this.clientRec.length === 0) this.clientRecT = t;
    this.clientRec.push(m);
  }

  private flushRecording(): void {
    if (this.clientRec.length === 0) return;
    const parts = this.clientRec;
    this.clientRec = [];
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.recordStream("client", this.clientRecT, bytes);
  }

  private recordStream(dir: "client" | "server", t: number, bytes: Uint8Array): void {
    this.gw.recordBytes(dir, t, STREAM_KIND, bytes);
  }

  private durable(): Promise<void> {
    this.flushRecording();
    return this.gw.durable();
  }

  /** Handles one client message; returns a promise when it must wait (decision or durable record). */
  private handle(m: Uint8Array): Promise<void> | undefined {
    const type = m[0]!;
    const t = nowMicros();
    this.recordClient(m, t);
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
          const { portal, statement, params, paramFormats } = codec.decodeBind(m);
          this.portals.set(portal, statement);
          if (this.statements.get(statement)?.decision.action === "review") {
            this.reviewBinds.set(portal, { params: params.map((p) => p && p.slice()), paramFormats });
          } else if (this.reviewBinds.size) this.reviewBinds.delete(portal);
          this.send(m);
          this.tracker.expect("bind");
          this.describeForMasking(portal, statement);
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
          else {
            this.portals.delete(target.name);
            this.reviewBinds.delete(target.name);
          }
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
    if (d.action === "review") {
      return this.holdForReview(command, d, {}, (final) => this.forwardQuery(m, command, final, nowMicros()));
    }
    if (d.action !== "allow") return this.refuse(tracked, "query", refusedQuery);
    const forward = () =>
      this.afterDurable(d, tracked, "query", () => {
        this.send(m);
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
    return cm && this.opts.masking ? this.opts.masking.prepareCopy(cm) : null;
  }

  private forwardParse(m: Uint8Array, name: string, command: Command, d: Decision): undefined {
    this.statements.set(name, { command, decision: d });
    // Under review, parsing runs nothing: the Parse goes through and its Execute is held (forwardExecute).
    if (d.action !== "allow" && d.action !== "review") {
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
    const tracked: Tracked = { command, decision, start: t, portal };
    if (decision.action === "review") {
      const binding = this.reviewBinds.get(portal);
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
        return this.afterDurable(final, released, "execute", () => {
          this.send(m);
          this.tracker.expect("execute", released);
        });
      });
    }
    if (decision.action !== "allow") {
      // Its Parse was refused, so the server has no such statement and will fail this Execute itself.
      this.send(m);
      this.tracker.expect("execute", null);
      return;
    }
    if (!this.gw.recordable()) return this.refuseExecute(tracked);
    const forward = () =>
      this.afterDurable(decision, tracked, "execute", () => {
        this.send(m);
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
    this.flushToServer();
    const notify = (n: { message: string; hint: string }) =>
      this.toClient(
        codec.noticeResponse({ severity: "NOTICE", code: "00000", message: n.message, hint: n.hint }),
      );
    this.flushRecording();
    return this.gw.review(command, d, binding, notify).then((final) => {
      if (this.stopped) return;
      // Only an approval releases the command; anything else (even a second review) is a refusal.
      return next(final.action === "allow" ? final : { ...final, action: "deny" });
    });
  }

  /** For `record: sync`, the command waits until everything recorded so far is committed. */
  private afterDurable(
    d: Decision,
    tracked: Tracked,
    kind: "query" | "execute",
    forward: () => void,
  ): Promise<void> | undefined {
    const sync = d.record === "sync";
    // Inside a transaction block a write takes effect only when the transaction commits, so its record has
    // to be durable before the COMMIT is forwarded rather than before the write: one wait per transaction
    // instead of two per write. Only for a single classified statement, with the server's transaction
    // status known to be current (nothing that could change it is in flight).
    if (sync && this.inTransactionNow() && d.statements?.length === 1 && !endsTransaction(tracked)) {
      this.deferredDurable = true;
      tracked.deferred = true;
      forward();
      return;
    }
    const mustWait = sync || (this.deferredDurable && mayEndTransaction(tracked));
    if (!mustWait) {
      forward();
      return;
    }
    this.flushToServer();
    return this.durable().then(
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
    this.send(substitute);
    this.refusalsPending++;
    this.tracker.expect(kind, report ? tracked : null, refusalMessage(tracked.decision));
    return;
  }

  /**
   * An Execute's results are masked with the columns of its portal, which the client may never have asked
   * for: the gateway describes the portal itself, right after the Bind, and keeps the answer to itself.
   */
  private describeForMasking(portal: string, statement: string): void {
    const prepared = this.statements.get(statement);
    const cm = this.opts.masking?.begin(prepared?.decision.mask, prepared?.command.text);
    if (!cm) {
      if (this.portalMasks.size) this.portalMasks.delete(portal);
      return;
    }
    this.portalMasks.set(portal, cm);
    this.send(new codec.Writer().byte(0x50).cstring(portal).finish("D"));
    this.tracker.expect("describe", null, null, { internal: true, mask: cm });
  }

  /** The masking state a command's results need; null when its decision masks nothing. */
  private maskOf(t: Tracked): CommandMask | null {
    if (!this.opts.masking || !t.decision.mask?.length) return null;
    if (t.portal !== undefined) {
      // No description of the portal means no masker: its rows are withheld (see maskRow), never leaked.
      t.mask ??= this.portalMasks.get(t.portal) ?? new CommandMask(t.decision.mask, t.command.text);
    } else t.mask ??= this.opts.masking.begin(t.decision.mask, t.command.text);
    return t.mask ?? null;
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
    const quiet = this.tracker.special === 0 && this.refusalsPending === 0;
    if (quiet && this.held === 0 && !this.serverHold && this.serverQueueHead === this.serverQueue.length) {
      // Fast path: nothing to rewrite, so the chunk goes out as it came; a copy of the messages is tracked
      // first, since completing a `record: sync` command in it holds the chunk until the record is durable.
      this.serverFramer.push(chunk, (type, m) => this.observeServer(type, m, t));
      this.forwardedPrefix = this.serverFramer.buffered;
      this.recordStream("server", t, chunk);
      this.toClient(chunk);
      this.watchRecordingBacklog();
      return;
    }
    // Message mode: each message is processed (and possibly rewritten) before it goes out; a message whose
    // masking waits for the catalog holds the rest of the stream, in order, with upstream reads paused.
    let completedAny = false;
    this.serverFramer.push(chunk, (_type, m) => {
      if (!completedAny && this.forwardedPrefix > 0) {
        if (this.serverQueueHead === this.serverQueue.length) this.serverQueueSent = this.forwardedPrefix;
      }
      this.serverQueue.push(m);
      completedAny = true;
    });
    if (completedAny) {
      this.forwardedPrefix = 0;
      this.held = this.serverFramer.buffered;
    } else {
      this.held = this.serverFramer.buffered - this.forwardedPrefix;
    }
    this.drainServer(t);
  }

  private drainServer(t: number): void {
    if (this.serverHold) return;
    const out: Uint8Array[] = [];
    while (this.serverQueueHead < this.serverQueue.length) {
      const m = this.serverQueue[this.serverQueueHead]!;
      const processed = this.processServer(m, t);
      if (processed instanceof Promise) {
        this.serverHold = true;
        this.setUpstreamPaused("masking", true);
        processed.then(
          () => {
            this.serverHold = false;
            if (this.stopped) return;
            this.setUpstreamPaused("masking", false);
            try {
              this.drainServer(nowMicros());
            } catch (err) {
              this.opts.onFatal(asProtocolError(err));
            }
          },
          (err) => this.opts.onFatal(maskingFailure(err)),
        );
        break;
      }
      this.serverQueueHead++;
      if (processed.length === 0) continue;
      const sent = this.serverQueueSent;
      this.serverQueueSent = 0;
      out.push(sent ? processed.subarray(sent) : processed);
    }
    if (this.serverQueueHead === this.serverQueue.length) {
      this.serverQueue = [];
      this.serverQueueHead = 0;
    }
    if (out.length) {
      const bytes = out.length === 1 ? out[0]! : Buffer.concat(out);
      this.recordStream("server", t, bytes);
      this.toClient(bytes);
    }
    this.watchRecordingBacklog();
  }

  /**
   * Masks, records and tracks one server message in message mode. Returns what to forward (possibly the
   * same bytes, or SWALLOW), or a promise when the message must wait for masking to be prepared.
   */
  private processServer(m: Uint8Array, t: number): Uint8Array | Promise<void> {
    const type = m[0]!;
    const mask = this.tracker.current()?.mask as CommandMask | null | undefined;
    let out = m;
    if (mask && this.opts.masking) {
      if (type === 0x54 /* T */) {
        const pending = this.opts.masking.describe(mask, m);
        if (pending) return pending;
      } else if (type === 0x44 /* D */) {
        out = mask.masker ? mask.maskRow(m) : withheldRow(m);
      } else if (type === 0x64 /* d CopyData */) {
        out = mask.maskCopyData(m);
      } else if (type === 0x48 /* H CopyOutResponse */) {
        mask.startCopy(m);
      } else if (type === 0x45 /* E */ || type === 0x4e /* N */) {
        out = mask.maskNotice(m);
      }
    }
    const replacement = this.observeServer(type, out, t);
    return replacement ?? out;
  }

  private toClient(bytes: Uint8Array): void {
    if (this.ackHold) this.ackHold.push(bytes);
    else this.client.write(bytes);
  }

  /** The server's transaction status is current: no request that could change it is still in flight. */
  private inTransactionNow(): boolean {
    return this.tracker.transactionStatus !== "I" && this.tracker.statusChangesInFlight === 0;
  }

  /** Holds server bytes until everything recorded so far (the statement event included) is committed. */
  private holdUntilDurable(): void {
    this.ackWaits++;
    this.ackHold ??= [];
    this.durable().then(
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
  private observeServer(type: number, m: Uint8Array, _t: number): Uint8Array | null {
    return this.tracker.onServerMessage(type, m);
  }

  private onCompleted(p: Pending<Tracked>): void {
    if (p.refusal) this.refusalsPending--;
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
    if (tracked.decision.record === "sync" && !tracked.deferred) this.holdUntilDurable();
  }

  private setPaused(reason: "backpressure" | "inbox" | "recording", paused: boolean): void {
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

/** A row whose masking could not be prepared: every value NULL, so nothing unmasked leaves (fail closed). */
function withheldRow(m: Uint8Array): Uint8Array {
  const n = codec.readInt16(m, 5);
  const w = new codec.Writer().int16(n);
  for (let i = 0; i < n; i++) w.int32(-1);
  return w.finish("D");
}

/** COMMIT, END or PREPARE TRANSACTION: the statement that makes a transaction's writes permanent. */
function endsTransaction(t: Tracked): boolean {
  const kw = t.command.keyword;
  return kw === "commit" || kw === "end" || kw === "prepare";
}

/** Anything that might end the transaction: a transaction statement, or a statement list or text not classified. */
function mayEndTransaction(t: Tracked): boolean {
  const statements = t.decision.statements;
  if (!statements || statements.length !== 1) return true;
  return endsTransaction(t) || statements[0]!.kind === "transaction" || statements[0]!.kind === "other";
}
