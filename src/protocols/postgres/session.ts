// One client connection, from the first byte to the last: startup (SSL, cancel, protocol negotiation),
// identity (the token arrives as the password), the upstream connection the gateway authenticates itself,
// then the relay, which lives in relay.ts.
import type { Command } from "../../core/command.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { ConnectionInfo, Gateway, GatewaySession } from "../../core/session.ts";
import { type Conn, upgradeToTls } from "../../net/conn.ts";
import type { CancelRegistry } from "./cancel-registry.ts";
import * as codec from "./codec.ts";
import { Relay } from "./relay.ts";
import type { ResultMasking } from "./result-masking.ts";
import { type AgentTimeouts, agentBounds, boundAgentTimeouts } from "./startup-limits.ts";
import {
  PRESENTATION_SETTINGS,
  type StartupSetting,
  startupSettings,
  upstreamSettings,
} from "./startup-params.ts";
import type { PostgresTarget } from "./target.ts";
import { connectUpstream } from "./upstream.ts";
import { wireError } from "./wire-error.ts";

/** Before authentication a client may send only a small password message (the token). */
export const MAX_PASSWORD_MESSAGE = 16 << 10;

export interface SessionOptions {
  gateway: Gateway;
  cancels: CancelRegistry;
  tls: { cert: string; key: string } | null;
  /** After authentication (limits.max_message). */
  maxClientMessage: number;
  maxServerMessage: number;
  maxMaskedServerMessage: number;
  /** Bounds on agents' statement_timeout and idle_in_transaction_session_timeout. */
  agentTimeouts: AgentTimeouts;
  logger: Logger;
  /** Result masking for a connection's sessions; absent when the gateway masks nothing. */
  masking?: (connection: ConnectionInfo<PostgresTarget>) => ResultMasking;
}

type State = "startup" | "password" | "opening" | "ready" | "closed";

const isLoopback = (addr: string) =>
  addr === "::1" || addr.startsWith("127.") || addr.startsWith("::ffff:127.");

export class ClientSession {
  private state: State = "startup";
  private startupBuf: Uint8Array = new Uint8Array(0);
  private framer: codec.MessageFramer;
  private params: Record<string, string> = {};
  private settings: StartupSetting[] = [];
  private relay: Relay | null = null;
  /** Sends the upstream backend a CancelRequest (as libpq does, on a fresh connection). */
  private cancelUpstream: (() => void) | null = null;
  private gw: GatewaySession<PostgresTarget> | null = null;
  private early: Uint8Array[] = [];
  readonly startedAt = Date.now();
  lastActivity = Date.now();

  constructor(
    readonly client: Conn,
    private readonly opts: SessionOptions,
    private readonly onClosed: (s: ClientSession) => void,
  ) {
    this.framer = new codec.MessageFramer(MAX_PASSWORD_MESSAGE);
    client.events = {
      data: (chunk) => this.onClientData(chunk),
      close: () => this.shutdown("client"),
    };
  }

  get sessionId(): string | null {
    return this.gw?.id ?? null;
  }

  get limits() {
    return this.gw?.limits ?? null;
  }

  /** Milliseconds without traffic either way and with nothing in flight; 0 while a statement runs. */
  idleFor(now: number): number {
    if (!this.relay) return now - this.lastActivity;
    if (this.relay.busy) return 0;
    return now - Math.max(this.lastActivity, this.relay.lastServerActivity);
  }

  private onClientData(chunk: Uint8Array): void {
    this.lastActivity = Date.now();
    try {
      switch (this.state) {
        case "startup":
          return this.onStartupBytes(chunk);
        case "password":
          return this.framer.push(chunk, (type, m) => this.onPasswordMessage(type, m));
        case "opening":
          // A client should wait for AuthenticationOk; keep whatever it pipelined, in order (reads are
          // paused meanwhile, so this stays small).
          return this.framer.push(chunk, (_t, m) => this.early.push(m));
        case "ready":
          return this.relay!.onClientData(chunk);
        case "closed":
          return;
      }
    } catch (err) {
      this.fail(protocolError(err));
    }
  }

  // --- startup -------------------------------------------------------------------------------------------

  private onStartupBytes(chunk: Uint8Array): void {
    // Bounded by the packet cap (MAX_STARTUP_PACKET), so joining the few chunks it takes stays cheap.
    this.startupBuf = this.startupBuf.length ? codec.concat(this.startupBuf, chunk) : chunk;
    let read: ReturnType<typeof codec.readStartupPacket>;
    try {
      read = codec.readStartupPacket(this.startupBuf);
    } catch (err) {
      // Like the server (ProcessStartupPacket's COMMERROR): an invalid length is closed without a reply,
      // which drivers that end before their start-up packet (Terminate first) expect.
      const e = protocolError(err);
      this.opts.gateway.reject("postgres", this.client.remoteAddress, e);
      return this.shutdown("protocol_error");
    }
    if (!read) return;
    this.startupBuf = new Uint8Array(0);
    const packet = codec.decodeStartupPacket(read.packet);
    switch (packet.kind) {
      case "ssl": {
        // Bytes after SSLRequest but before the handshake would be injected plaintext (CVE-2021-23222).
        if (read.rest.length) throw new CustosError("protocol.malformed", "unexpected data after SSLRequest");
        if (!this.opts.tls || this.client.tls) {
          this.client.write(Uint8Array.of(0x4e)); // 'N': no TLS here
          return;
        }
        this.client.write(Uint8Array.of(0x53)); // 'S', then the handshake, synchronously
        upgradeToTls(this.client, this.opts.tls, true).catch(() => this.shutdown("tls_failed"));
        return;
      }
      case "gssenc":
        if (read.rest.length)
          throw new CustosError("protocol.malformed", "unexpected data after GSSENCRequest");
        this.client.write(Uint8Array.of(0x4e)); // GSSAPI encryption is not offered
        return;
      case "cancel":
        this.opts.cancels.cancel(packet.pid, packet.secret);
        this.state = "closed";
        this.client.end();
        return;
      case "startup":
        return this.onStartup(packet.params, read.rest, packet.minor);
    }
  }

  private onStartup(params: Record<string, string>, rest: Uint8Array, minor = 0): void {
    this.params = params;
    const unsupported = Object.keys(params).filter((k) => k.startsWith("_pq_."));
    // Also for a newer minor version without options (protocol-flow, "NegotiateProtocolVersion").
    if (unsupported.length || minor > 0) {
      // NegotiateProtocolVersion: the newest version we speak (3.0, 196608), then the protocol options
      // we do not recognise (protocol-message-formats).
      const w = new codec.Writer().int32(codec.PROTOCOL_3_0).int32(unsupported.length);
      for (const name of unsupported) w.cstring(name);
      this.client.write(w.finish("v"));
    }
    if (!params.user) {
      return this.fail(
        new CustosError("protocol.malformed", "no PostgreSQL user name specified in startup packet"),
      );
    }
    try {
      this.settings = startupSettings(params);
    } catch (err) {
      return this.fail(protocolError(err));
    }
    // The token travels as a cleartext password: only over TLS or from this host.
    if (!this.client.tls && !isLoopback(this.client.remoteAddress)) {
      const err = new CustosError(
        "access.insecure_transport",
        "the identity token may only be sent over TLS",
      );
      this.opts.gateway.reject("postgres", this.client.remoteAddress, err);
      return this.fail(err);
    }
    this.state = "password";
    this.client.write(codec.authenticationCleartextPassword);
    if (rest.length) this.framer.push(rest, (type, m) => this.onPasswordMessage(type, m));
  }

  private onPasswordMessage(type: number, message: Uint8Array): void {
    if (this.state !== "password") {
      this.early.push(message);
      return;
    }
    if (type !== 0x70 /* p */) {
      throw new CustosError("protocol.malformed", "expected a password message");
    }
    this.state = "opening";
    this.client.pause();
    // Reads are paused until the session is open, so what a client pipelines meanwhile stays small.
    this.framer.maxMessage = this.opts.maxClientMessage;
    void this.open(codec.decodePassword(message)).catch((err) => this.fail(protocolError(err)));
  }

  // --- identity and upstream ---------------------------------------------------------------------------

  private async open(token: string): Promise<void> {
    const { gateway } = this.opts;
    const opened = await gateway.open<PostgresTarget>({
      protocol: "postgres",
      clientAddr: this.client.remoteAddress,
      credential: token,
      user: this.params.user ?? "",
      connection: this.params.database || this.params.user || "",
      applicationName: this.params.application_name,
      tls: this.client.tls ? { protocol: this.tlsVersion(), cipher: this.tlsCipher() } : null,
    });
    if (this.state === "closed") {
      if (opened.ok)
        await opened.session.close("client", { bytesFromClient: 0, bytesToClient: 0, commands: 0 });
      return;
    }
    if (!opened.ok) return this.fail(opened.error);
    const gw = opened.session;
    this.gw = gw;

    let settings: StartupSetting[];
    try {
      settings = await this.decideSettings(gw);
    } catch (err) {
      const e = protocolError(err);
      gw.event("startup.refused", { code: e.code, message: e.message });
      return this.fail(e, "startup_refused");
    }
    if ((this.state as State) === "closed") return;
    if (settings.length) {
      gw.event("startup.settings", { settings: Object.fromEntries(settings.map((s) => [s.name, s.value])) });
    }

    let link: Awaited<ReturnType<typeof connectUpstream>>;
    try {
      link = await connectUpstream(gw.connection.target, upstreamSettings(settings));
    } catch (err) {
      const e = err instanceof CustosError ? err : new CustosError("upstream.unreachable", String(err));
      gw.event("upstream.error", { code: e.code, message: e.message, ...e.detail });
      return this.fail(e, "upstream_error");
    }
    if ((this.state as State) === "closed") {
      link.conn.destroy();
      return;
    }

    this.cancelUpstream = () => {
      gw.event("cancel", { upstream_pid: link.pid });
      const t = gw.connection.target;
      // A cancel is sent on a fresh connection, as libpq does; failures are only logged.
      import("../../net/listen.ts")
        .then(({ dial }) => dial({ host: t.host, port: t.port }, 5000))
        .then((c) => c.end(codec.cancelRequest(link.pid, link.secret)))
        .catch((err) => this.opts.logger.warn("cancel failed", { session: gw.id, error: String(err) }));
    };
    const minted = this.opts.cancels.mint(link.pid, { cancel: this.cancelUpstream });
    this.relay = new Relay({
      client: this.client,
      upstream: link.conn,
      session: gw,
      maxServerMessage: this.opts.maxServerMessage,
      maxMaskedServerMessage: this.opts.maxMaskedServerMessage,
      clientFramer: this.framer,
      onUpstreamClosed: () => this.shutdown("upstream_closed"),
      onFatal: (err) => this.fail(err, "protocol_error"),
      release: () => this.opts.cancels.release(minted),
      masking: this.opts.masking ? this.opts.masking(gw.connection) : null,
    });
    gw.onTerminate((reason) => this.fail(reason, reason.code));

    // The client sees the upstream's session parameters and backend PID, with the gateway's own secret.
    const hello = [codec.authenticationOk, ...link.parameters, ...link.notices];
    hello.push(codec.backendKeyData(minted.pid, minted.secret), codec.readyForQuery("I"));
    for (const m of hello) this.client.write(m);
    this.state = "ready";
    for (const m of link.leftover) this.relay.onServerData(m);
    const early = this.early;
    this.early = [];
    this.relay.onClientMessages(early);
    this.client.resume();
  }

  /**
   * The start-up settings this identity may use: agents' time-outs within their bounds, and the settings
   * that change behaviour (search_path, time-outs) decided by the policy as the equivalent `SET` (what a
   * client may not do with a statement it may not do with a start-up option). Presentation settings and
   * the parser's own (checked already, and pinned) are not asked about.
   */
  private async decideSettings(gw: GatewaySession<PostgresTarget>): Promise<StartupSetting[]> {
    const agent = gw.identity.kind === "agent";
    const settings = agent ? boundAgentTimeouts(this.settings, this.opts.agentTimeouts) : this.settings;
    const bounded = agent ? agentBounds(this.opts.agentTimeouts) : new Map<string, number>();
    for (const s of settings) {
      if (bounded.has(s.name) || PRESENTATION_SETTINGS.has(s.name)) continue;
      const text = `SET ${s.name} TO '${s.value.replaceAll("'", "''")}'`;
      const d = await gw.decide({ protocol: "postgres", text });
      if (d.action !== "allow") {
        throw new CustosError(
          "access.forbidden",
          `start-up parameter "${s.name}" is not permitted: ${d.reason}`,
          { parameter: s.name, rule: d.rule, action: d.action },
        );
      }
    }
    return settings;
  }

  private tlsVersion(): string | null {
    try {
      return this.client.socket.getTLSVersion() || null;
    } catch {
      return null;
    }
  }

  private tlsCipher(): string | null {
    try {
      return this.client.socket.getCipher()?.name ?? null;
    } catch {
      return null;
    }
  }

  // --- ending ---------------------------------------------------------------------------------------------

  /** Sends a FATAL error in the client's terms and ends the session. */
  fail(err: CustosError, reason: string = err.code): void {
    if (this.state === "closed") return;
    if (!this.gw && this.state !== "opening")
      this.opts.gateway.reject("postgres", this.client.remoteAddress, err);
    // Write, then shut down: ending the socket here can close it synchronously, which would record
    // session.end with reason "client" before this reason.
    this.client.write(wireError(err, "FATAL"));
    this.shutdown(reason);
  }

  /** Idempotent: closes both sides and writes session.end. */
  shutdown(reason: string): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.client.end();
    const stats = this.relay?.stop(reason) ?? { bytesFromClient: 0, bytesToClient: 0, commands: 0 };
    // A statement the session's end interrupted must not run on (a write committing) without its session:
    // the server only notices a closed connection when it next writes, so it is cancelled.
    if (this.relay?.interrupted) this.cancelUpstream?.();
    this.onClosed(this);
    if (this.gw) {
      this.gw.close(reason, stats).catch((err) => {
        this.opts.logger.error("session close failed", { session: this.gw?.id, error: String(err) });
      });
    }
  }
}

function protocolError(err: unknown): CustosError {
  if (err instanceof CustosError) return err;
  if (err instanceof codec.CodecError) {
    const code =
      err.kind === "too_large"
        ? "protocol.too_large"
        : err.kind === "unsupported"
          ? "protocol.unsupported"
          : "protocol.malformed";
    return new CustosError(code, err.message);
  }
  return new CustosError("internal", String(err));
}

export type { Command };
