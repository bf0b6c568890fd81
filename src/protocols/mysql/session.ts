// One client connection, narrated: greet, require TLS, obtain the token as the password (caching_sha2
// full authentication, mysql_clear_password, or an AuthSwitch to caching_sha2 from any other plugin),
// open the gateway session (identity and access), log in upstream with the connection's own account,
// then serve commands one at a time (commands.ts) until either side ends.

import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Gateway, GatewaySession, SessionStats } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import type { Conn } from "../../net/conn.ts";
import { Cap, okPayload, packet, Status } from "./codec.ts";
import { CommandLoop } from "./commands.ts";
import {
  authSwitchPayload,
  CACHING_SHA2,
  CLEAR,
  clearPassword,
  greetingPayload,
  isSslRequest,
  newScramble,
  parseHandshakeResponse,
} from "./handshake.ts";
import type { KillRegistry } from "./kill-registry.ts";
import { PacketStream } from "./packet-stream.ts";
import type { MysqlTarget } from "./target.ts";
import { acceptTls, type ByteConn } from "./tls-front.ts";
import { connectUpstream } from "./upstream.ts";
import { wireError } from "./wire-error.ts";

export interface MysqlSessionOptions {
  gateway: Gateway;
  masking: MaskingEngine;
  logger: Logger;
  tls: { cert: string; key: string };
  maxMessage: number;
  authTimeoutMs: number;
  kills: KillRegistry;
  /** The gateway's own version string in the greeting (the upstream's is not known yet). */
  version?: string;
}

/** Before authentication a client packet is tiny (ENFORCEMENT rule 7). */
const PRE_AUTH_MAX = 16 << 10;
let nextConnectionId = 1;
/**
 * The version the greeting announces, chosen by the gateway: before authentication nobody learns the
 * upstream server's version (the client's own SELECT VERSION() still reaches the server once decided).
 * "5.7.19" because drivers choose features by it: Connector/J reads MariaDB's "5.5.5-" prefix as older
 * than 5.5.16 and then misreads caching_sha2_password's AuthMoreData (NativeAuthenticationProvider),
 * while anything from 5.7.20 on makes it ask for MySQL 8's @@transaction_isolation, which MariaDB 10 lacks.
 * No "MariaDB" in it: libmariadb and the drivers then stay on the MySQL protocol the gateway speaks.
 */
export const GREETING_VERSION = "5.7.19-Custos";

export class MysqlClientSession {
  readonly connectionId = nextConnectionId++;
  readonly startedAt = Date.now();
  private stream: PacketStream;
  /** The client leg: the socket, then TLS over it. */
  private client: ByteConn;
  private session: GatewaySession<MysqlTarget> | null = null;
  private loop: CommandLoop | null = null;
  private ended = false;
  readonly stats: SessionStats = { bytesFromClient: 0, bytesToClient: 0, commands: 0 };

  constructor(
    private readonly conn: Conn,
    private readonly opts: MysqlSessionOptions,
    private readonly onEnd: (s: MysqlClientSession) => void,
  ) {
    this.client = conn;
    this.stream = new PacketStream(conn, PRE_AUTH_MAX, "client");
    this.stream.frameOne();
    this.run().catch((err) =>
      this.fail(err instanceof CustosError ? err : new CustosError("internal", String(err)), "error"),
    );
  }

  get limits() {
    return this.session?.limits ?? null;
  }

  get identitySubject(): string | null {
    return this.session ? `${this.session.identity.issuer}\u0000${this.session.identity.subject}` : null;
  }

  idleFor(now: number): number {
    return this.loop && !this.loop.busy ? now - this.loop.lastActivity : 0;
  }

  private send(seq: number, payload: Uint8Array): void {
    const bytes = packet(seq, payload);
    this.stats.bytesToClient += bytes.length;
    this.client.write(bytes);
  }

  private async run(): Promise<void> {
    const scramble = newScramble();
    this.send(
      0,
      greetingPayload({
        version: this.opts.version ?? GREETING_VERSION,
        connectionId: this.connectionId,
        scramble,
        status: Status.AUTOCOMMIT,
        plugin: CACHING_SHA2,
      }),
    );
    const within = this.opts.authTimeoutMs;
    let p = await this.stream.nextWithin(within, "login");
    if (!isSslRequest(p.payload)) {
      // The token is the password: never accepted without TLS.
      return this.refuse(
        p.seq + 1,
        new CustosError(
          "access.insecure_transport",
          "Connections using insecure transport are prohibited: connect with TLS (--ssl)",
        ),
      );
    }
    this.client = await acceptTls(this.conn, this.stream.detach(), this.opts.tls);
    this.stream = new PacketStream(this.client, PRE_AUTH_MAX, "client");
    p = await this.stream.nextWithin(within, "login");
    let response: ReturnType<typeof parseHandshakeResponse>;
    try {
      response = parseHandshakeResponse(p.payload);
    } catch (err) {
      return this.refuse(
        p.seq + 1,
        new CustosError("protocol.malformed", `malformed handshake response: ${(err as Error).message}`),
      );
    }
    let seq = p.seq + 1;
    let password: string;
    if (response.plugin === CLEAR) {
      password = clearPassword(response.auth);
    } else {
      if (response.plugin !== CACHING_SHA2) {
        // Another plugin (mysql_native_password, client_ed25519…): switch to caching_sha2_password.
        this.send(seq, authSwitchPayload(CACHING_SHA2, new Uint8Array([...scramble, 0])));
        p = await this.stream.nextWithin(within, "login");
        seq = p.seq + 1;
      }
      // caching_sha2_password: the gateway keeps no cache, so always "perform full authentication" (0x04).
      this.send(seq, new Uint8Array([0x01, 0x04]));
      p = await this.stream.nextWithin(within, "login");
      seq = p.seq + 1;
      password = clearPassword(p.payload);
    }
    // The connection is the database the client names; tools that connect first and USE later
    // (mysqlslap) name it as the user instead.
    const connection = response.database || response.user;
    if (!connection) {
      return this.refuse(
        seq,
        new CustosError("access.unknown_connection", "name the connection as the database (mysql -D NAME)"),
      );
    }
    const opened = await this.opts.gateway.open<MysqlTarget>({
      protocol: "mysql",
      clientAddr: this.conn.remoteAddress,
      credential: password,
      user: response.user,
      connection,
      applicationName: response.attributes.program_name ?? response.attributes._client_name ?? "",
      tls: { protocol: "TLS", cipher: null },
    });
    password = "";
    if (!opened.ok) return this.refuse(seq, opened.error);
    const session = opened.session;
    this.session = session;
    session.onTerminate((reason) => this.fail(reason, reason.code));
    let upstream: Awaited<ReturnType<typeof connectUpstream>>;
    try {
      upstream = await connectUpstream(
        session.connection.target,
        response.capabilities & FRONT_MASK,
        this.opts.maxMessage,
      );
    } catch (err) {
      const e = err instanceof CustosError ? err : new CustosError("upstream.unreachable", String(err));
      session.event("upstream.error", { code: e.code, message: e.message });
      return this.refuse(seq, e);
    }
    if (upstream.status & Status.NO_BACKSLASH_ESCAPES) {
      upstream.stream.conn.destroy();
      return this.refuse(
        seq,
        new CustosError(
          "upstream.protocol",
          "the server's sql_mode has NO_BACKSLASH_ESCAPES, which the gateway does not lex",
        ),
      );
    }
    this.stream.maxPayload = this.opts.maxMessage;
    this.loop = new CommandLoop({
      client: this.stream,
      clientConn: this.client,
      upstream,
      session,
      masking: this.opts.masking,
      logger: this.opts.logger,
      stats: this.stats,
      deprecateEof: (upstream.capabilities & Cap.DEPRECATE_EOF) !== 0,
      connectionId: this.connectionId,
      kills: this.opts.kills,
      ownerKey: `${session.identity.issuer}\u0000${session.identity.subject}`,
    });
    this.opts.kills.register(this.connectionId, this.loop);
    // A slow client holds the upstream's reading (the socket's write queue crossed its high-water mark).
    this.conn.onPressure = (congested) => upstream.stream.hold(congested);
    this.send(seq, okPayload(upstream.status));
    const reason = await this.loop.run();
    this.end(reason);
  }

  private refuse(seq: number, error: CustosError): void {
    if (!this.session) this.opts.gateway.reject("mysql", this.conn.remoteAddress, error);
    this.send(seq, wireError(error));
    this.end(error.code);
  }

  /** Ends the session from outside (time-outs, shutdown, the gateway's own termination). */
  fail(error: CustosError, reason: string): void {
    if (this.ended) return;
    if (this.loop) this.loop.terminate(error);
    else {
      try {
        this.send(0, wireError(error));
      } catch {}
    }
    this.end(reason);
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.opts.kills.unregister(this.connectionId);
    this.loop?.closeUpstream();
    this.client.end();
    const session = this.session;
    if (session) session.close(reason, this.stats).catch(() => {});
    this.onEnd(this);
  }
}

// The client's capabilities the gateway honours (the front offered no more than these).
const FRONT_MASK =
  Cap.LONG_PASSWORD |
  Cap.FOUND_ROWS |
  Cap.LONG_FLAG |
  Cap.CONNECT_WITH_DB |
  Cap.PROTOCOL_41 |
  Cap.INTERACTIVE |
  Cap.TRANSACTIONS |
  Cap.SECURE_CONNECTION |
  Cap.MULTI_STATEMENTS |
  Cap.MULTI_RESULTS |
  Cap.PS_MULTI_RESULTS |
  Cap.PLUGIN_AUTH |
  Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  Cap.SESSION_TRACK |
  Cap.DEPRECATE_EOF;
