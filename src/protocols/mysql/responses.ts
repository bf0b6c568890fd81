// Relays the server's response to one command: OK and ERR packets, result sets (text or binary rows,
// several with MORE_RESULTS_EXISTS), COM_STMT_PREPARE_OK and its definitions. Rows are masked by the
// decision's rules for the result's column definitions; error texts are masked for masked sessions. What
// the client receives is recorded (masked) before it is written. The server's status flags are watched:
// NO_BACKSLASH_ESCAPES ends the session (the gateway lexes with backslash escapes), and a request for a
// client file (LOAD DATA LOCAL) is answered with no file, never passed to the client.
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { GatewaySession, SessionStats } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import {
  concat,
  EOF,
  ERR,
  errPayload,
  isEofPacket,
  LOCAL_INFILE,
  MAX_PAYLOAD,
  OK,
  type Packet,
  packet,
  parseEof,
  parseErr,
  parseOk,
  Reader,
  Status,
  text,
} from "./codec.ts";
import { type MessageMasker, maskFieldListDef, type ResultMasker, resultMasker } from "./mask.ts";
import type { PacketStream } from "./packet-stream.ts";
import { type ColumnDef, parseColumnDef, textRowValues } from "./result-set.ts";
import { type OkTail, parseTrackedOk, unexpectedChange, untrackedOk } from "./session-state.ts";
import type { MysqlTarget } from "./target.ts";
import type { ByteConn } from "./tls-front.ts";

export interface RelayOptions {
  upstream: PacketStream;
  client: ByteConn;
  clientStream: PacketStream;
  session: GatewaySession<MysqlTarget>;
  masking: MaskingEngine;
  messages: MessageMasker;
  stats: SessionStats;
  deprecateEof: boolean;
  /** The client negotiated SESSION_TRACK (else the server's state reports are dropped before it). */
  clientTracksState: boolean;
  /** The database the connection names: the only current schema the gateway accepts. */
  database: string;
}

/** Pending bytes written to the client at once, even while more packets are ready. */
const FLUSH_AT = 64 << 10;
/** Rows per recording frame. */
const ROWS_PER_FRAME = 64;

export class ResponseRelay {
  /** Sequence-id shift when a masked payload takes another number of wire packets than the original. */
  private shift = 0;

  constructor(private readonly o: RelayOptions) {}

  /** What the client is to receive, written as one chunk (one TLS record) per upstream read. */
  private out: Uint8Array[] = [];
  private outBytes = 0;

  private async next(): Promise<Packet> {
    // Packets already framed are handled first; the client's bytes go out before waiting for more.
    if (this.o.upstream.pending === 0) this.flush();
    return this.o.upstream.next();
  }

  /** Writes what is pending to the client; the relay's every exit (and the command loop) calls it. */
  flush(): void {
    if (this.out.length === 0) return;
    const bytes = this.out.length === 1 ? this.out[0]! : concat(this.out);
    this.out = [];
    this.outBytes = 0;
    this.o.client.write(bytes);
  }

  /** Writes a packet, unchanged (raw) or with a new payload, keeping sequence ids in step. */
  private emit(p: Packet, payload: Uint8Array | null): void {
    let bytes: Uint8Array;
    if (payload === null && this.shift === 0) bytes = p.raw;
    else {
      const body = payload ?? p.payload;
      bytes = packet(p.seq + this.shift, body);
      const parts = Math.floor(body.length / MAX_PAYLOAD) + 1;
      this.shift += parts - p.parts;
    }
    this.o.stats.bytesToClient += bytes.length;
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (this.outBytes >= FLUSH_AT) this.flush();
  }

  private watchStatus(status: number): void {
    if (status & Status.NO_BACKSLASH_ESCAPES)
      throw new CustosError(
        "upstream.protocol",
        "the server switched to NO_BACKSLASH_ESCAPES, which the gateway does not lex; session ended",
      );
  }

  /**
   * An OK packet (or DEPRECATE_EOF's OK terminator): its status flags and the server's session-state
   * report checked before the client sees it; a change the gateway did not expect ends the session.
   */
  private ok(p: Packet): OkTail {
    let ok: OkTail;
    try {
      ok = parseTrackedOk(p.payload);
    } catch {
      throw new CustosError("upstream.protocol", "unreadable OK packet");
    }
    this.watchStatus(ok.status);
    if (ok.changes.length > 0) {
      const unexpected = unexpectedChange(ok.changes, this.o.database);
      if (unexpected !== null) {
        this.o.session.event("mysql.session_state_refused", { change: unexpected });
        throw new CustosError(
          "upstream.protocol",
          `the server reports that ${unexpected}, which the gateway does not assume; session ended`,
        );
      }
    }
    const strip = !this.o.clientTracksState && ok.status & Status.SESSION_STATE_CHANGED;
    this.emit(p, strip ? untrackedOk(p.payload, ok) : null);
    return ok;
  }

  private error(p: Packet, masked: boolean): { code: string; message: string } {
    const err = parseErr(p.payload);
    if (masked) {
      const message = this.o.messages.mask(err.message);
      if (message !== err.message) {
        this.emit(p, errPayload(err.code, err.sqlState, message));
        this.record("Error", { code: err.code, sqlstate: err.sqlState, message });
        return { code: String(err.code), message };
      }
    }
    this.emit(p, null);
    this.record("Error", { code: err.code, sqlstate: err.sqlState, message: err.message });
    return { code: String(err.code), message: err.message };
  }

  private record(kind: string, data: Record<string, unknown>): void {
    this.o.session.record({ t: Date.now() * 1000, dir: "server", kind, data });
  }

  /** Waits for the recording to catch up, holding the upstream meanwhile (nothing forwarded unrecorded). */
  private async backlog(): Promise<void> {
    const wait = this.o.session.recordingBacklog();
    if (!wait) return;
    this.flush();
    this.o.upstream.hold(true);
    try {
      await wait;
    } finally {
      this.o.upstream.hold(false);
    }
  }

  /** The response to a COM_QUERY or COM_STMT_EXECUTE. */
  async relay(
    command: Command,
    decision: Decision,
    mode: "text" | "binary",
    prepared?: ColumnDef[],
  ): Promise<void> {
    this.shift = 0;
    const started = performance.now();
    const masked = decision.mask.length > 0;
    let rows = 0;
    let affected = 0;
    let error: { code: string; message: string } | undefined;
    for (;;) {
      const p = await this.next();
      const head = p.payload[0];
      if (head === OK) {
        const ok = this.ok(p);
        affected += ok.affectedRows;
        this.record("OK", { affected_rows: ok.affectedRows, warnings: ok.warnings });
        if (ok.status & Status.MORE_RESULTS_EXISTS) continue;
        break;
      }
      if (head === ERR) {
        error = this.error(p, masked);
        break;
      }
      if (head === LOCAL_INFILE) {
        // LOAD DATA LOCAL: the server asks the client for a file. The client never sees the request; the
        // server gets an empty file (end of data) and answers with its OK or error.
        this.o.session.event("mysql.local_infile_refused", { file: text(p.payload.subarray(1)) });
        this.o.upstream.conn.write(packet(p.seq + 1, new Uint8Array(0)));
        this.shift -= 2; // neither the request nor the empty reply reached the client
        continue;
      }
      const result = await this.resultSet(p, decision, mode, prepared);
      rows += result.rows;
      if (result.error) {
        error = result.error;
        break;
      }
      if (result.status & Status.MORE_RESULTS_EXISTS) continue;
      break;
    }
    this.o.session.completed(command, decision, {
      tag: error ? null : rows > 0 ? `SELECT ${rows}` : `OK ${affected}`,
      rows: rows || affected,
      ...(error ? { error } : {}),
      durationUs: Math.round((performance.now() - started) * 1000),
    });
  }

  private async resultSet(
    first: Packet,
    decision: Decision,
    mode: "text" | "binary",
    _prepared?: ColumnDef[],
  ): Promise<{ rows: number; status: number; error?: { code: string; message: string } }> {
    const count = new Reader(first.payload).lenenc();
    if (count === null || count === 0 || count > 4096)
      throw new CustosError("upstream.protocol", "bad column count");
    this.emit(first, null);
    const defs: ColumnDef[] = [];
    for (let i = 0; i < count; i++) {
      const p = await this.next();
      defs.push(parseColumnDef(p.payload));
      this.emit(p, null);
    }
    if (!this.o.deprecateEof) {
      const eof = await this.next();
      if (!isEofPacket(eof.payload))
        throw new CustosError("upstream.protocol", "expected EOF after column definitions");
      this.emit(eof, null);
    }
    let masker: ResultMasker | null = null;
    if (decision.mask.length > 0) {
      // A rule the engine cannot honour: the result is not relayed (policy.unavailable ends the command).
      masker = resultMasker(this.o.masking, decision.mask, defs);
    }
    const names = defs.map((d) => d.name);
    let batch: unknown[][] = [];
    let rows = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      this.record("Rows", { columns: names, rows: batch });
      batch = [];
      await this.backlog();
    };
    for (;;) {
      const p = await this.next();
      const head = p.payload[0];
      if (head === ERR) {
        await flush();
        return { rows, status: 0, error: this.error(p, decision.mask.length > 0) };
      }
      if (head === EOF && p.payload.length < MAX_PAYLOAD && (this.o.deprecateEof || p.payload.length < 9)) {
        await flush();
        if (this.o.deprecateEof) return { rows, status: this.ok(p).status };
        const status = parseEof(p.payload).status;
        this.watchStatus(status);
        this.emit(p, null);
        return { rows, status };
      }
      rows++;
      let payload = p.payload;
      if (masker?.active) payload = mode === "text" ? masker.textRow(payload) : masker.binaryRow(payload);
      this.emit(p, payload === p.payload ? null : payload);
      batch.push(
        mode === "text" ? textValues(payload, defs.length) : [`(binary row, ${payload.length} bytes)`],
      );
      if (batch.length >= ROWS_PER_FRAME) await flush();
    }
  }

  /** A response of one packet (OK, ERR, EOF, or COM_STATISTICS's string). */
  async single(command?: Command): Promise<void> {
    this.shift = 0;
    const p = await this.next();
    const head = p.payload[0];
    if (head === ERR) this.error(p, true);
    else {
      if (head === OK) this.ok(p);
      else this.emit(p, null);
      this.record(head === OK ? "OK" : "Response", {});
    }
    if (command) {
      const decision: Decision = {
        action: "allow",
        reason: "routed by the gateway",
        rule: "custos.mysql_kill_own",
        record: "sync",
        mask: [],
      };
      this.o.session.completed(command, decision, {
        tag: head === ERR ? null : "OK",
        rows: 0,
        durationUs: 0,
      });
    }
  }

  /** COM_STMT_PREPARE: the OK with the statement id, then parameter and column definitions. */
  async prepare(
    command: Command,
    decision: Decision,
  ): Promise<{ id: number; params: number; columns: ColumnDef[] } | null> {
    this.shift = 0;
    const p = await this.next();
    if (p.payload[0] === ERR) {
      const error = this.error(p, decision.mask.length > 0);
      this.o.session.completed(command, decision, { tag: null, rows: 0, error, durationUs: 0 });
      return null;
    }
    if (p.payload[0] !== OK || p.payload.length < 12)
      throw new CustosError("upstream.protocol", "bad COM_STMT_PREPARE response");
    const r = new Reader(p.payload);
    r.int1();
    const id = r.int4();
    const columns = r.int2();
    const params = r.int2();
    this.emit(p, null);
    const defs: ColumnDef[] = [];
    for (const [n, keep] of [
      [params, false],
      [columns, true],
    ] as const) {
      if (n === 0) continue;
      for (let i = 0; i < n; i++) {
        const d = await this.next();
        if (keep) defs.push(parseColumnDef(d.payload));
        this.emit(d, null);
      }
      if (!this.o.deprecateEof) this.emit(await this.next(), null);
    }
    this.record("Prepared", { statement: id, params, columns: defs.map((d) => d.name) });
    this.o.session.completed(command, decision, { tag: "PREPARE", rows: 0, durationUs: 0 });
    return { id, params, columns: defs };
  }

  /** COM_FIELD_LIST: column definitions then EOF (or ERR). */
  async fieldList(command: Command, decision: Decision): Promise<void> {
    this.shift = 0;
    for (;;) {
      const p = await this.next();
      const head = p.payload[0];
      if (head === ERR) {
        const error = this.error(p, decision.mask.length > 0);
        this.o.session.completed(command, decision, { tag: null, rows: 0, error, durationUs: 0 });
        return;
      }
      if (head === EOF && p.payload.length < MAX_PAYLOAD) {
        this.emit(p, null);
        break;
      }
      // A column's default is a value of that column: masked as its rows would be.
      let payload = p.payload;
      if (decision.mask.length > 0) {
        try {
          payload = maskFieldListDef(this.o.masking, decision.mask, p.payload);
        } catch (err) {
          if (err instanceof CustosError) throw err;
          throw new CustosError("upstream.protocol", "unreadable COM_FIELD_LIST column definition");
        }
      }
      this.emit(p, payload === p.payload ? null : payload);
    }
    this.o.session.completed(command, decision, { tag: "FIELD LIST", rows: 0, durationUs: 0 });
  }
}

function textValues(payload: Uint8Array, count: number): (string | null)[] {
  const values = textRowValues(payload, count);
  return values.map((v) => (v === null ? null : text(payload.subarray(v[0], v[1]))));
}
