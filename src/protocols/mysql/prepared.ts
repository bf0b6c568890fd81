// The prepared-statement family (COM_STMT_PREPARE / EXECUTE / SEND_LONG_DATA / CLOSE / RESET), tracked
// per ENFORCEMENT rule 2: an id exists only once the server's PREPARE_OK named it for a decided text;
// each execution is decided again with that text and its bound parameters; a command naming an id the
// tracker does not hold is refused (or, where MySQL defines no response, dropped), never forwarded.
import type { Command } from "../../core/command.ts";
import { CustosError } from "../../core/errors.ts";
import type { GatewaySession } from "../../core/session.ts";
import { errPayload, type Packet, Reader } from "./codec.ts";
import type { ClientReply, CommandDecider } from "./decide.ts";
import type { ResponseRelay } from "./responses.ts";
import type { MysqlTarget } from "./target.ts";
import { MAX_STATEMENTS, StatementTracker } from "./tracker.ts";
import type { UpstreamSession } from "./upstream.ts";
import { viewResolution } from "./views.ts";

export interface PreparedOptions {
  session: GatewaySession<MysqlTarget>;
  upstream: UpstreamSession;
  decider: CommandDecider;
  relay: ResponseRelay;
  reply: ClientReply;
  /** Forwards a command whose one-packet response is relayed as is (COM_STMT_RESET). */
  passThrough(p: Packet, kind: string): Promise<void>;
  /** Ends the session (a client past a bound). */
  terminate(error: CustosError): void;
}

const LONG_DATA_CHUNKS = 64;

function statementOf(p: Packet): number {
  const r = new Reader(p.payload);
  r.int1();
  return r.int4();
}

export class PreparedStatements {
  readonly tracker = new StatementTracker();

  constructor(private readonly o: PreparedOptions) {}

  private record(kind: string, data: Record<string, unknown>): void {
    this.o.session.record({ t: Date.now() * 1000, dir: "client", kind, data });
  }

  private forward(p: Packet): void {
    this.o.upstream.stream.conn.write(p.raw);
  }

  async prepare(p: Packet, text: string): Promise<void> {
    if (this.tracker.size >= MAX_STATEMENTS) {
      this.o.reply.error(
        1,
        new CustosError("session.limit", `at most ${MAX_STATEMENTS} prepared statements per session`),
      );
      return;
    }
    const catalog = viewResolution(text, this.o.upstream.views);
    const command: Command = { protocol: "mysql", text, keyword: "Prepare", ...(catalog ? { catalog } : {}) };
    const decision = await this.o.decider.decide(command);
    if (!decision) return;
    this.forward(p);
    const prepared = await this.o.relay.prepare(command, decision);
    if (prepared)
      this.tracker.prepared(prepared.id, {
        command,
        params: prepared.params,
        columns: prepared.columns,
        longData: [],
      });
  }

  async execute(p: Packet): Promise<void> {
    const id = statementOf(p);
    const tracked = this.tracker.get(id);
    if (!tracked) {
      this.o.session.event("mysql.unknown_statement", { statement: id });
      this.o.reply.payload(
        1,
        errPayload(1243, "HY000", `Unknown prepared statement handler (${id}) given to mysqld_stmt_execute`),
      );
      return;
    }
    const flags = p.payload[5] ?? 0;
    if (flags !== 0) {
      // Cursors (COM_STMT_FETCH) are not tracked: refused rather than relayed unseen.
      this.o.reply.error(
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
    const decision = await this.o.decider.decide(command, {
      params: [p.payload.subarray(10), ...tracked.longData],
    });
    tracked.longData = [];
    if (!decision) return;
    this.forward(p);
    await this.o.relay.relay(command, decision, "binary", tracked.columns);
  }

  longData(p: Packet): void {
    const id = statementOf(p);
    const tracked = this.tracker.get(id);
    // No response is defined for COM_STMT_SEND_LONG_DATA: an unknown id is dropped, never forwarded.
    if (!tracked) {
      this.o.session.event("mysql.unknown_statement", { statement: id, command: "send_long_data" });
      return;
    }
    if (tracked.longData.length >= LONG_DATA_CHUNKS)
      return this.o.terminate(new CustosError("protocol.too_large", "too many long-data chunks"));
    tracked.longData.push(p.payload.slice(7));
    this.record("SendLongData", { statement: id });
    this.forward(p);
  }

  close(p: Packet): void {
    const id = statementOf(p);
    if (!this.tracker.get(id)) return; // no response is defined; an unknown id is not forwarded
    this.tracker.closed(id);
    this.record("StmtClose", { statement: id });
    this.forward(p);
  }

  async reset(p: Packet): Promise<void> {
    const tracked = this.tracker.get(statementOf(p));
    if (!tracked) {
      this.o.reply.payload(
        1,
        errPayload(1243, "HY000", "Unknown prepared statement handler given to mysqld_stmt_reset"),
      );
      return;
    }
    tracked.longData = [];
    return this.o.passThrough(p, "StmtReset");
  }
}
