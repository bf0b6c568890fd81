// The command phase: one client command at a time, each by an allow-list of command bytes; everything
// not listed is refused. Text that reaches the server is decided first (decide.ts: policy, held
// statements, the record); the prepared-statement family is prepared.ts; USE, COM_INIT_DB and KILL are
// answered or routed here. Responses are relayed by responses.ts (masking, session state, recording).
import type { Command } from "../../core/command.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { GatewaySession, SessionStats } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { Com, errPayload, okPayload, type Packet, packet, Reader, utf8 } from "./codec.ts";
import { type ClientReply, CommandDecider } from "./decide.ts";
import type { KillRegistry, KillTarget } from "./kill-registry.ts";
import { MessageMasker } from "./mask.ts";
import type { PacketStream } from "./packet-stream.ts";
import { PreparedStatements } from "./prepared.ts";
import { ResponseRelay } from "./responses.ts";
import type { MysqlTarget } from "./target.ts";
import type { ByteConn } from "./tls-front.ts";
import { pinSession, type UpstreamSession } from "./upstream.ts";
import { viewResolution } from "./views.ts";
import { wireError } from "./wire-error.ts";

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

const USE = /^\s*use\s+`?((?:[^`]|``)+?)`?\s*;?\s*$/i;
const KILL = /^\s*kill\s+(?:(query|connection)\s+)?(\d{1,10})\s*;?\s*$/i;
const decoder = new TextDecoder("utf-8", { fatal: true });

export class CommandLoop implements KillTarget {
  lastActivity = Date.now();
  /** True while a command runs: a long query is not an idle session. */
  busy = false;
  readonly ownerKey: string;
  private readonly relay: ResponseRelay;
  private readonly decider: CommandDecider;
  private readonly prepared: PreparedStatements;
  private readonly messages: MessageMasker;
  private terminated: CustosError | null = null;

  constructor(private readonly o: CommandLoopOptions) {
    this.ownerKey = o.ownerKey;
    this.messages = new MessageMasker(o.masking);
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
    const reply: ClientReply = {
      error: (seq, err) => this.sendError(seq, err),
      payload: (seq, payload) => this.sendPayload(seq, payload),
    };
    this.decider = new CommandDecider(o.session, reply);
    this.prepared = new PreparedStatements({
      session: o.session,
      upstream: o.upstream,
      decider: this.decider,
      relay: this.relay,
      reply,
      passThrough: (p, kind) => this.passThrough(p, kind),
      terminate: (error) => this.terminate(error),
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
        this.relay.flush();
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
    this.relay.flush(); // whatever the relay holds goes first
    const bytes = packet(seq, wireError(err));
    this.o.stats.bytesToClient += bytes.length;
    this.o.clientConn.write(bytes);
  }

  private sendPayload(seq: number, payload: Uint8Array): void {
    this.relay.flush();
    const bytes = packet(seq, payload);
    this.o.stats.bytesToClient += bytes.length;
    this.o.clientConn.write(bytes);
  }

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
      case Com.STMT_PREPARE: {
        const text = this.textOf(p);
        return text === null ? undefined : this.prepared.prepare(p, text);
      }
      case Com.STMT_EXECUTE:
        return this.prepared.execute(p);
      case Com.STMT_SEND_LONG_DATA:
        return this.prepared.longData(p);
      case Com.STMT_CLOSE:
        return this.prepared.close(p);
      case Com.STMT_RESET:
        return this.prepared.reset(p);
      case Com.RESET_CONNECTION:
        this.prepared.tracker.clear();
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
    const decision = await this.decider.decide(command);
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
    const decision = await this.decider.decide(command);
    if (!decision) return;
    this.o.upstream.stream.conn.write(p.raw);
    await this.relay.fieldList(command, decision);
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
    this.decider.close();
    const up = this.o.upstream.stream.conn;
    if (!up.isClosed) up.end(packet(0, new Uint8Array([Com.QUIT])));
  }
}
