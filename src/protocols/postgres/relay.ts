// The relay of an authenticated session. Client messages are handled one at a time, in order: each
// command is decided before it is forwarded, and held until its record is durable when the decision asks
// for it. Server messages are recorded and paired with their commands, and forwarded as the raw chunk
// unless one of them must be rewritten.
//
// A refused command is not answered by the gateway itself: it is replaced by a statement the server rejects
// with a syntax error, and the gateway rewrites that error into the refusal. The server thus moves its own
// transaction and pipeline state exactly as it would for a failing statement (a transaction block becomes
// failed, messages up to Sync are skipped), and responses keep their order without the gateway emulating it.
//
// This file wires the parts and dispatches client messages: command-flow.ts takes a command from decision
// to completion, server-stream.ts carries the server's bytes to the client, objects.ts keeps
// the session's statements and portals, relay-io.ts batches writes and recording and pauses the sockets.

import { nowMicros } from "../../core/clock.ts";
import { CustosError } from "../../core/errors.ts";
import type { GatewaySession, SessionStats } from "../../core/session.ts";
import type { Conn } from "../../net/conn.ts";
import * as codec from "./codec.ts";
import { CommandFlow } from "./command-flow.ts";
import { SessionObjects } from "./objects.ts";
import { asProtocolError } from "./refusals.ts";
import { RelayIo } from "./relay-io.ts";
import type { ResultMasking } from "./result-masking.ts";
import { ServerStream } from "./server-stream.ts";
import type { PostgresTarget } from "./target.ts";
import type { Tracked } from "./tracked.ts";
import { ResponseTracker } from "./tracker.ts";

export interface RelayOptions {
  client: Conn;
  upstream: Conn;
  session: GatewaySession<PostgresTarget>;
  maxServerMessage: number;
  maxMaskedServerMessage: number;
  /** The session's client framer, which may hold a partial message already. */
  clientFramer: codec.MessageFramer;
  onUpstreamClosed(): void;
  onFatal(err: CustosError): void;
  release(): void;
  /** Masks result streams per the decisions' mask rules; null disables masking (no rules can apply). */
  masking: ResultMasking | null;
}

/** Client messages queued beyond this pause the client's socket until the queue drains. */
const INBOX_PAUSE = 512;

export class Relay {
  private readonly upstream: Conn;
  private readonly io: RelayIo;
  private readonly tracker: ResponseTracker<Tracked>;
  private readonly objects = new SessionObjects();
  private readonly server: ServerStream;
  private readonly commands: CommandFlow;
  private inbox: Uint8Array[] = [];
  private inboxHead = 0;
  private waiting = false;
  readonly stats: SessionStats = { bytesFromClient: 0, bytesToClient: 0, commands: 0 };

  constructor(private readonly opts: RelayOptions) {
    const { client, upstream, session: gw, masking } = opts;
    this.upstream = upstream;
    this.io = new RelayIo(client, upstream, gw);
    this.tracker = new ResponseTracker<Tracked>({
      completed: (p) => this.commands.onCompleted(p),
      maskOf: (t) => this.server.masks(this.commands.maskOf(t)),
      ready: (status) => this.commands.onReady(status),
    });
    this.server = new ServerStream({
      client,
      gw,
      io: this.io,
      tracker: this.tracker,
      masking,
      stats: this.stats,
      maxServerMessage: opts.maxServerMessage,
      maxMaskedServerMessage: opts.maxMaskedServerMessage,
      onFatal: opts.onFatal,
    });
    this.commands = new CommandFlow({
      gw,
      io: this.io,
      server: this.server,
      tracker: this.tracker,
      objects: this.objects,
      masking,
      stats: this.stats,
      onFatal: opts.onFatal,
    });
    this.upstream.events = {
      data: (chunk) => {
        try {
          this.server.onServerData(chunk);
        } catch (err) {
          opts.onFatal(asProtocolError(err));
        }
      },
      close: () => opts.onUpstreamClosed(),
    };
    // Backpressure both ways: a slow reader on one side stops reads on the other.
    client.onPressure = (congested) => this.io.setUpstreamPaused("backpressure", congested);
    upstream.onPressure = (congested) => this.io.setPaused("backpressure", congested);
  }

  /** Epoch milliseconds of the server's last bytes: the session's idle clock. */
  get lastServerActivity(): number {
    return this.server.lastActivity;
  }

  /** True while a request is in flight: a long-running statement is not an idle session. */
  get busy(): boolean {
    return this.tracker.outstanding > 0 || this.waiting || this.server.holding;
  }

  onServerData(chunk: Uint8Array): void {
    this.server.onServerData(chunk);
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
    const io = this.io;
    // One clock read per pass: the messages of one pass are handled synchronously, within microseconds of
    // each other (a wait ends the pass, and the next pass reads the clock again).
    const t = nowMicros();
    while (!this.waiting && !io.stopped && this.inboxHead < this.inbox.length) {
      const m = this.inbox[this.inboxHead++]!;
      let pending: Promise<void> | undefined;
      try {
        pending = this.handle(m, t);
      } catch (err) {
        return this.opts.onFatal(asProtocolError(err));
      }
      if (pending) {
        this.waiting = true;
        io.flushRecording();
        io.flushToServer();
        io.setPaused("inbox", this.inbox.length - this.inboxHead > INBOX_PAUSE);
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
      io.setPaused("inbox", false);
    }
    io.flushRecording();
    io.flushToServer();
    io.watchRecordingBacklog();
  }

  /** Handles one client message; returns a promise when it must wait (decision or durable record). */
  private handle(m: Uint8Array, t: number): Promise<void> | undefined {
    const type = m[0]!;
    this.io.recordClient(m, t);
    switch (type) {
      case 0x51 /* Q Query */:
        return this.commands.query(m, codec.decodeQuery(m), t);
      case 0x50 /* P Parse */:
        {
          const { name, query } = codec.decodeParse(m);
          return this.commands.parse(m, name, query);
        }
      case 0x42 /* B Bind */:
        return this.commands.bind(m);
      case 0x45 /* E Execute */:
        return this.commands.execute(m, codec.decodeExecute(m).portal, t);
      case 0x44 /* D Describe */:
        codec.decodeTarget(m);
        this.io.send(m);
        this.tracker.expect("describe");
        return;
      case 0x43 /* C Close */:
        this.commands.close(m);
        return;
      case 0x53 /* S Sync */:
        return this.commands.sync(m);
      case 0x48 /* H Flush */:
      case 0x64 /* d CopyData */:
      case 0x63 /* c CopyDone */:
      case 0x66 /* f CopyFail */:
        this.io.send(m);
        return;
      case 0x58 /* X Terminate */:
        this.io.send(m);
        return;
      case 0x46 /* F FunctionCall */:
        return this.commands.functionCall(m, t);
      default:
        throw new CustosError(
          "protocol.malformed",
          `unexpected message type '${String.fromCharCode(type)}' from the client`,
        );
    }
  }

  /** Ends the upstream connection; returns the session's byte and command counts. */
  /** Statements that were running upstream when the relay stopped (recorded as interrupted). */
  interrupted = 0;

  /** Ends the relay; statements still running are recorded as interrupted by `reason` first. */
  stop(reason = "client"): SessionStats {
    if (!this.io.stopped) {
      this.interrupted = this.commands.interrupted(reason);
      this.io.stopped = true;
      this.upstream.events = null;
      this.upstream.end(codec.terminate);
      this.opts.release();
    }
    return this.stats;
  }
}
