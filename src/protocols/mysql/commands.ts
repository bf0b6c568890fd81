// The command phase: one client command at a time, each by an allow-list of command bytes. Text that
// reaches the server (COM_QUERY, COM_STMT_PREPARE) is decided first; an execution is attributed to the
// prepared statement the tracker holds and decided again with that statement's decision; everything else
// is refused. Responses are relayed by responses.ts (masking, recording).
import type { CatalogResolution, Command, ResolvedStatement } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { GatewaySession, SessionStats } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { createMysqlClassifier } from "../../sql/mysql-classifier.ts";
import { Com, errPayload, okPayload, type Packet, packet, Reader, utf8 } from "./codec.ts";
import { type HeldAnswer, HeldStatements, heldKey, MAX_HELD } from "./held.ts";
import type { KillRegistry, KillTarget } from "./kill-registry.ts";
import { MessageMasker } from "./mask.ts";
import type { PacketStream } from "./packet-stream.ts";
import { ResponseRelay } from "./responses.ts";
import type { MysqlTarget } from "./target.ts";
import type { ByteConn } from "./tls-front.ts";
import { MAX_STATEMENTS, StatementTracker } from "./tracker.ts";
import { pinSession, type UpstreamSession } from "./upstream.ts";
import { refusal, wireError } from "./wire-error.ts";

export interface CommandLoopOptions {
  client: PacketStream;
  clientConn: ByteConn;
  upstream: UpstreamSession;
  session: GatewaySession<MysqlTarget>;
  masking: MaskingEngine;
  logger: Logger;
  stats: SessionStats;
  deprecateEof: boolean;
  connectionId: number;
  kills: KillRegistry;
  ownerKey: string;
}

/** The same classifier the decider uses, for what the statements read (cached by text: a lookup when repeated). */
const classifier = createMysqlClassifier();

/**
 * Statements that read a view are unresolved (the policy refuses them for masked identities): MySQL's
 * column definitions name the view's column, not the column it reads. Undefined when no view is read.
 */
function viewResolution(text: string, views: ReadonlySet<string>): CatalogResolution | undefined {
  if (views.size === 0) return undefined;
  const statements = classifier.classify(text).statements;
  let any = false;
  const out: ResolvedStatement[] = statements.map((s) => {
    const view = s.tables_read.find((t) => views.has(t));
    if (!view) return { status: "not_applicable", uses: [], functions: [] };
    any = true;
    return {
      status: "unresolved",
      reason: `it reads the view ${view}, whose columns MySQL does not resolve to their sources`,
      uses: [],
      functions: [],
    };
  });
  return any ? { statements: out } : undefined;
}

const USE = /^\s*use\s+`?((?:[^`]|``)+?)`?\s*;?\s*$/i;
const KILL = /^\s*kill\s+(?:(query|connection)\s+)?(\d{1,10})\s*;?\s*$/i;
const decoder = new TextDecoder("utf-8", { fatal: true });
/**
 * A statement held for approval: ER_SIGNAL_EXCEPTION (1644, what a server-side SIGNAL raises, so drivers
 * treat it as a statement error and keep the connection) with SQLSTATE class 45 ("unhandled user-defined
 * exception") and the gateway's own subclass C01.
 */
export const HELD_ERRNO = 1644;
export const HELD_SQLSTATE = "45C01";

export class CommandLoop implements KillTarget {
  lastActivity = Date.now();
  /** True while a command runs: a long query is not an idle session. */
  busy = false;
  readonly ownerKey: string;
  private readonly tracker = new StatementTracker();
  private readonly held: HeldStatements;
  private readonly relay: ResponseRelay;
  private readonly messages: MessageMasker;
  private terminated: CustosError | null = null;

  constructor(private readonly o: CommandLoopOptions) {
    this.ownerKey = o.ownerKey;
    this.messages = new MessageMasker(o.masking);
    const target = o.session.connection.target;
    this.held = new HeldStatements(target.heldReplyMs ?? 2_000, target.heldRetryMs ?? 600_000, (id, why) =>
      o.session.event("mysql.approval_unused", { request_id: id, reason: why }),
    );
    this.relay = new ResponseRelay({
      upstream: o.upstream.stream,
      client: o.clientConn,
      clientStream: o.client,
      session: o.session,
      masking: o.masking,
      messages: this.messages,
      stats: o.stats,
      deprecateEof: o.deprecateEof,
      clientTracksState: o.upstream.clientTracksState,
      database: o.session.connection.target.database,
    });
  }

  get upstreamThreadId(): number {
    return this.o.upstream.threadId;
  }

  /** Serves commands until the client quits or a side closes; returns the close reason. */
  async run(): Promise<string> {
    for (;;) {
      let p: Packet;
      try {
        p = await this.o.client.next();
      } catch (err) {
        if (this.terminated) return this.terminated.code;
        if (err instanceof CustosError) {
          this.sendError(0, err);
          return err.code;
        }
        return "client_closed";
      }
      this.lastActivity = Date.now();
      this.o.stats.bytesFromClient += p.raw.length;
      if (p.seq !== 0) {
        this.sendError(p.seq + 1, new CustosError("protocol.malformed", "Got packets out of order"));
        return "protocol_error";
      }
      const com = p.payload[0];
      if (com === Com.QUIT) return "client_quit";
      this.busy = true;
      try {
        await this.command(com, p);
      } catch (err) {
        const e =
          err instanceof CustosError ? err : new CustosError("upstream.protocol", (err as Error).message);
        this.o.session.event("mysql.command_failed", { code: e.code, message: e.message });
        // A failure mid-response leaves the two legs out of step: end the session.
        this.sendError(1, e);
        return e.code;
      }
      this.busy = false;
      this.lastActivity = Date.now();
      if (this.terminated) return this.terminated.code;
      if (this.o.upstream.stream.failed) return "upstream_closed";
    }
  }

  private sendError(seq: number, err: CustosError): void {
    const bytes = packet(seq, wireError(err));
    this.o.stats.bytesToClient += bytes.length;
    this.o.clientConn.write(bytes);
  }

  private sendPayload(seq: number, payload: Uint8Array): void {
    const bytes = packet(seq, payload);
    this.o.stats.bytesToClient += bytes.length;
    this.o.clientConn.write(bytes);
  }

  /** Masked identities get their error texts masked too; set once the first decision masks anything. */
  private masked = false;

  private async command(com: number | undefined, p: Packet): Promise<void> {
    this.o.stats.commands++;
    switch (com) {
      case Com.QUERY:
        return this.query(p);
      case Com.PING:
        return this.passThrough(p, "Ping");
      case Com.STATISTICS:
        return this.passThrough(p, "Statistics");
      case Com.SET_OPTION:
        return this.passThrough(p, "SetOption");
      case Com.FIELD_LIST:
        return this.fieldList(p);
      case Com.STMT_PREPARE:
        return this.prepare(p);
      case Com.STMT_EXECUTE:
        return this.execute(p);
      case Com.STMT_SEND_LONG_DATA:
        return this.longData(p);
      case Com.STMT_CLOSE:
        return this.close(p);
      case Com.STMT_RESET:
        return this.reset(p);
      case Com.RESET_CONNECTION:
        this.tracker.clear();
        await this.passThrough(p, "ResetConnection");
        // Every session variable is back at its global value, the tracking with them: pinned again.
        return pinSession(this.o.upstream.stream, this.o.upstream.stream.conn, this.o.deprecateEof, 10_000);
      case Com.PROCESS_KILL: {
        const r = new Reader(p.payload);
        r.int1();
        return this.kill(r.int4(), "connection");
      }
      case Com.INIT_DB:
        return this.useDatabase(new TextDecoder().decode(p.payload.subarray(1)));
      case Com.CHANGE_USER:
        return this.refuseCommand(
          "COM_CHANGE_USER",
          "changing the user is refused: reconnect with another token",
        );
      default:
        return this.refuseCommand(`0x${(com ?? 0).toString(16)}`, "Unknown command");
    }
  }

  private refuseCommand(name: string, message: string): void {
    this.o.session.event("mysql.command_refused", { command: name, reason: message });
    this.sendError(1, new CustosError("protocol.unsupported", message));
  }

  /** Decides a text; null when refused (the client has its error). */
  private async decide(
    command: Command,
    binding: { params?: (Uint8Array | null)[] } = {},
  ): Promise<Decision | null> {
    if (!this.o.session.recordable()) {
      this.sendError(1, new CustosError("audit.unavailable", "the audit store is unavailable; nothing runs"));
      return null;
    }
    const key = heldKey(command, binding.params);
    let decision: Decision;
    let answer: HeldAnswer | null = null;
    if (this.held.has(key)) answer = await this.held.retry(key);
    else {
      decision = await this.o.session.decide(command);
      if (decision.action === "review" && command.keyword === "Prepare") {
        // Preparing runs nothing: the statement is prepared and each execution is held with its parameters.
        decision = {
          ...decision,
          action: "allow",
          reason: `prepared; each execution needs approval: ${decision.reason}`,
        };
      }
      if (decision.action === "review") {
        if (this.held.size >= MAX_HELD) {
          this.sendError(1, new CustosError("session.limit", `at most ${MAX_HELD} statements held at once`));
          return null;
        }
        const asked = decision;
        answer = await this.held.start(key, (told) =>
          this.o.session.review(command, asked, binding, (n) => told(n.requestId)),
        );
      } else answer = { state: "decided", decision };
    }
    if (answer.state === "held") {
      this.tellHeld(command, answer.requestId, answer.again);
      return null;
    }
    decision = answer.decision;
    if (decision.action !== "allow") {
      const message = decision.error?.message ?? `custos: ${decision.reason} (${decision.rule})`;
      this.sendPayload(1, refusal(message, decision.error?.sqlstate));
      this.o.session.completed(command, decision, {
        tag: null,
        rows: 0,
        error: { code: decision.rule, message: decision.reason },
        durationUs: 0,
      });
      return null;
    }
    if (decision.mask.length > 0) this.masked = true;
    this.o.session.record({
      t: Date.now() * 1000,
      dir: "client",
      kind: command.keyword ?? "Query",
      data: { text: command.text },
    });
    if (decision.record === "sync") {
      try {
        await this.o.session.durable();
      } catch {
        this.sendError(
          1,
          new CustosError("audit.unavailable", "the audit record could not be made durable; nothing ran"),
        );
        return null;
      }
    }
    return decision;
  }

  /** The client is told its statement waits for approval, and how to get it run (held.ts). */
  private tellHeld(command: Command, requestId: string | null, again: boolean): void {
    const id = requestId ?? "(not yet filed)";
    this.o.session.event("mysql.statement_held", { request_id: requestId, again });
    this.o.session.record({
      t: Date.now() * 1000,
      dir: "server",
      kind: "Held",
      data: { request_id: requestId, text: command.text },
    });
    this.sendPayload(
      1,
      errPayload(
        HELD_ERRNO,
        HELD_SQLSTATE,
        `custos: statement ${again ? "still " : ""}held for approval: request ${id}. An approver runs: custos approve ${id}; then send the same statement again in this session (it runs once).`,
      ),
    );
  }

  private textOf(p: Packet): string | null {
    try {
      return decoder.decode(p.payload.subarray(1));
    } catch {
      this.sendError(1, new CustosError("protocol.malformed", "the statement is not valid utf8mb4"));
      return null;
    }
  }

  private async query(p: Packet): Promise<void> {
    const text = this.textOf(p);
    if (text === null) return;
    const use = USE.exec(text);
    if (use) return this.useDatabase(use[1]!.replaceAll("``", "`"));
    const kill = KILL.exec(text);
    if (kill) return this.kill(Number(kill[2]), (kill[1] ?? "connection").toLowerCase());
    const catalog = viewResolution(text, this.o.upstream.views);
    const command: Command = { protocol: "mysql", text, keyword: "Query", ...(catalog ? { catalog } : {}) };
    const decision = await this.decide(command);
    if (!decision) return;
    this.o.upstream.stream.conn.write(p.raw);
    await this.relay.relay(command, decision, "text");
  }

  private async passThrough(p: Packet, kind: string): Promise<void> {
    this.o.session.record({ t: Date.now() * 1000, dir: "client", kind, data: {} });
    this.o.upstream.stream.conn.write(p.raw);
    await this.relay.single();
  }

  private async fieldList(p: Packet): Promise<void> {
    const r = new Reader(p.payload);
    r.int1();
    const table = new TextDecoder().decode(r.nulBytes());
    // Decided as what it is: the columns of a table.
    const command: Command = {
      protocol: "mysql",
      text: `SHOW COLUMNS FROM \`${table.replaceAll("`", "``")}\``,
      keyword: "FieldList",
    };
    const decision = await this.decide(command);
    if (!decision) return;
    this.o.upstream.stream.conn.write(p.raw);
    await this.relay.fieldList(command, decision);
  }

  private async prepare(p: Packet): Promise<void> {
    const text = this.textOf(p);
    if (text === null) return;
    if (this.tracker.size >= MAX_STATEMENTS) {
      this.sendError(
        1,
        new CustosError("session.limit", `at most ${MAX_STATEMENTS} prepared statements per session`),
      );
      return;
    }
    const catalog = viewResolution(text, this.o.upstream.views);
    const command: Command = { protocol: "mysql", text, keyword: "Prepare", ...(catalog ? { catalog } : {}) };
    const decision = await this.decide(command);
    if (!decision) return;
    this.o.upstream.stream.conn.write(p.raw);
    const prepared = await this.relay.prepare(command, decision);
    if (prepared)
      this.tracker.prepared(prepared.id, {
        command,
        params: prepared.params,
        columns: prepared.columns,
        longData: [],
      });
  }

  private statementOf(p: Packet): number {
    const r = new Reader(p.payload);
    r.int1();
    return r.int4();
  }

  private async execute(p: Packet): Promise<void> {
    const id = this.statementOf(p);
    const tracked = this.tracker.get(id);
    if (!tracked) {
      this.o.session.event("mysql.unknown_statement", { statement: id });
      this.sendPayload(
        1,
        errPayload(1243, "HY000", `Unknown prepared statement handler (${id}) given to mysqld_stmt_execute`),
      );
      return;
    }
    const flags = p.payload[5] ?? 0;
    if (flags !== 0) {
      // Cursors (COM_STMT_FETCH) are not tracked: refused rather than relayed unseen.
      this.sendError(
        1,
        new CustosError(
          "protocol.unsupported",
          "server-side cursors are not supported by the gateway (useCursorFetch)",
        ),
      );
      return;
    }
    const command: Command = { ...tracked.command, keyword: "Execute" };
    // Decided again at execution (a swapped bundle, an approval) with the parameters bound in the review.
    const decision = await this.decide(command, { params: [p.payload.subarray(10), ...tracked.longData] });
    tracked.longData = [];
    if (!decision) return;
    this.o.upstream.stream.conn.write(p.raw);
    await this.relay.relay(command, decision, "binary", tracked.columns);
  }

  private longData(p: Packet): void {
    const tracked = this.tracker.get(this.statementOf(p));
    // No response is defined for COM_STMT_SEND_LONG_DATA: an unknown id is dropped, never forwarded.
    if (!tracked) {
      this.o.session.event("mysql.unknown_statement", {
        statement: this.statementOf(p),
        command: "send_long_data",
      });
      return;
    }
    if (tracked.longData.length >= 64)
      return this.terminate(new CustosError("protocol.too_large", "too many long-data chunks"));
    tracked.longData.push(p.payload.slice(7));
    this.o.session.record({
      t: Date.now() * 1000,
      dir: "client",
      kind: "SendLongData",
      data: { statement: this.statementOf(p) },
    });
    this.o.upstream.stream.conn.write(p.raw);
  }

  private close(p: Packet): void {
    const id = this.statementOf(p);
    if (!this.tracker.get(id)) return; // no response is defined; an unknown id is not forwarded
    this.tracker.closed(id);
    this.o.session.record({
      t: Date.now() * 1000,
      dir: "client",
      kind: "StmtClose",
      data: { statement: id },
    });
    this.o.upstream.stream.conn.write(p.raw);
  }

  private async reset(p: Packet): Promise<void> {
    const tracked = this.tracker.get(this.statementOf(p));
    if (!tracked) {
      this.sendPayload(
        1,
        errPayload(1243, "HY000", "Unknown prepared statement handler given to mysqld_stmt_reset"),
      );
      return;
    }
    tracked.longData = [];
    return this.passThrough(p, "StmtReset");
  }

  /**
   * COM_INIT_DB / USE: the connection names the database, so only its own name is accepted, answered by
   * the gateway (the upstream stays on target.database); any other name is refused.
   */
  private useDatabase(name: string): void {
    if (name !== this.o.session.connection.name) {
      this.refuseCommand("COM_INIT_DB", "changing the database is refused: the connection names it");
      return;
    }
    this.o.session.event("mysql.use_database", { database: name });
    this.sendPayload(1, okPayload(2));
  }

  /** KILL [QUERY|CONNECTION] n, for n a connection id this gateway announced to the same identity. */
  private async kill(id: number, what: string): Promise<void> {
    const target = this.o.kills.get(id);
    if (!target || target.ownerKey !== this.ownerKey) {
      this.o.session.event("mysql.kill_refused", { connection: id });
      this.sendPayload(1, errPayload(1094, "HY000", `Unknown thread id: ${id}`));
      return;
    }
    this.o.session.event("mysql.kill", { connection: id, what });
    if (what === "connection") {
      if (target === this) {
        this.sendPayload(1, okPayload(2));
        this.terminate(new CustosError("session.max_duration", "Connection was killed"));
        return;
      }
      target.terminate(new CustosError("session.max_duration", "Connection was killed"));
      this.sendPayload(1, okPayload(2));
      return;
    }
    // KILL QUERY on the server's own thread id, sent on this session's connection (the same account).
    const text = `KILL QUERY ${target.upstreamThreadId}`;
    const command: Command = { protocol: "mysql", text, keyword: "Kill" };
    this.o.session.record({ t: Date.now() * 1000, dir: "client", kind: "Kill", data: { text } });
    this.o.upstream.stream.conn.write(packet(0, new Uint8Array([Com.QUERY, ...utf8(text)])));
    await this.relay.single(command);
  }

  terminate(error: CustosError): void {
    if (this.terminated) return;
    this.terminated = error;
    this.sendError(0, error);
    this.o.client.fail(error);
    this.closeUpstream();
  }

  closeUpstream(): void {
    this.held.clear();
    const up = this.o.upstream.stream.conn;
    if (!up.isClosed) up.end(packet(0, new Uint8Array([Com.QUIT])));
  }
}
