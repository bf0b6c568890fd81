// X11 forwarding (`ssh -X`/`-Y`, RFC 4254 §6.3): the client's x11-req (single-connection flag, auth
// protocol, auth cookie, screen) is decided by the policy on everything but the cookie (the default pack
// refuses it; `lists.ssh.x11_allowed` names the groups that may). Only an allowed request is sent on to
// the target, cookie unchanged, with that session's exec or shell; a refused one never is, so the
// target's DISPLAY stays unset. Each x11 channel the target then opens (RFC 4254 §6.3.2) is relayed to
// the client, which checks the cookie and connects to its X server, and recorded as opened and closed
// with its byte counts. X11 traffic (key presses, pixels) is NOT masked or recorded byte by byte, so
// masked identities never get X11 (decideForward refuses a masked allow; the default pack denies too).
// An x11 channel the target opens when no request of this connection was allowed is refused.
import type ssh2 from "ssh2";
import type { ClientChannel, ServerChannel, X11Info } from "ssh2";
import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { repairWindowResume } from "./channel-writes.ts";
import { x11Command } from "./command.ts";
import { decideForward, type ForwardContext } from "./forward.ts";

type Reply = (() => void) | undefined;

/** What the session passes to the target's exec or shell (ssh2 ExecOptions.x11). */
export interface X11Request {
  single: boolean;
  protocol: string;
  /** The cookie as the client sent it (hex text, RFC 4254 §6.3.1), forwarded byte for byte. */
  cookie: string;
  screen: number;
}

export class X11Forwarding {
  /** Each allowed request of this connection, completed when the session ends. */
  private readonly grants: { command: Command; decision: Decision; started: number }[] = [];
  private closed = false;
  private opened = 0;
  private refusedChannels = 0;
  private readonly live = new Set<() => void>();

  constructor(
    private readonly ctx: ForwardContext,
    private readonly client: ssh2.Connection,
  ) {}

  /** x11-req on a session channel: the options for the target's request, or null when refused. */
  async request(accept: Reply, reject: Reply, info: X11Info): Promise<X11Request | null> {
    const protocol = String(info.protocol ?? "");
    const screen = Number(info.screen ?? 0);
    const command = x11Command(info.single === true, protocol, screen);
    const started = nowMicros();
    this.ctx.stats.commands++;
    this.ctx.activity();
    const decision = await decideForward(this.ctx.session, command);
    const refuse = (d: Decision, code: string, message: string) => {
      this.ctx.refused("x11-req", { rule: d.rule, protocol, screen });
      reject?.();
      this.ctx.session.completed(command, d, {
        tag: null,
        rows: 0,
        durationUs: nowMicros() - started,
        error: { code, message },
      });
      return null;
    };
    if (decision.action !== "allow") return refuse(decision, "policy.denied", decision.reason);
    try {
      if (decision.record === "sync") await this.ctx.session.durable();
    } catch (err) {
      return refuse(decision, "audit.unavailable", err instanceof Error ? err.message : String(err));
    }
    if (this.closed) return null;
    this.ctx.session.record({
      t: started,
      dir: "client",
      kind: "ssh.command",
      data: { text: command.text, ...command.details },
    });
    this.grants.push({ command, decision, started });
    this.ctx.session.event("ssh.x11_forwarded", { stage: "allowed", rule: decision.rule, protocol, screen });
    accept?.();
    // ssh2 parses the cookie as bytes; given a string it writes it back as latin1, unchanged.
    const cookie = Buffer.isBuffer(info.cookie) ? info.cookie.toString("latin1") : String(info.cookie);
    return { single: info.single === true, protocol, cookie, screen };
  }

  /**
   * The target opens an x11 channel (upstream.ts, before ssh2 handles it): where X11 was not allowed it
   * is refused (by ssh2, which never asked for it, and by fromTarget) and audited here.
   */
  channelOpened(): void {
    if (this.grants.length > 0 && !this.closed) return;
    this.refusedChannels++;
    this.ctx.refused("x11", { reason: "X11 forwarding was not allowed" });
  }

  /** An x11 channel the target opened (ssh2 Client 'x11'): relayed to the client when allowed. */
  fromTarget = (details: ssh2.X11Details, accept: () => ClientChannel, reject: () => void): void => {
    const from = `${details.srcIP}:${details.srcPort}`;
    if (this.grants.length === 0 || this.closed) {
      reject();
      return;
    }
    this.ctx.activity();
    this.client.x11(details.srcIP, details.srcPort, (err, channel) => {
      if (err || this.closed) {
        reject();
        if (!err) channel.close();
        else this.ctx.session.event("ssh.forward_failed", { channel: "x11", from, message: err.message });
        return;
      }
      this.relay(channel as unknown as ServerChannel, accept(), from);
    });
  };

  closeAll(): void {
    if (this.closed) return;
    this.closed = true;
    for (const close of [...this.live]) close();
    // The target's x11 channels do not say which session's display they came from: each statement
    // carries the connection's counts.
    for (const g of this.grants)
      this.ctx.session.completed(g.command, g.decision, {
        tag: "session ended",
        rows: 0,
        durationUs: nowMicros() - g.started,
        detail: { channels: this.opened, refused_channels: this.refusedChannels },
      });
  }

  /** Both ways with backpressure (pipe), counted, never recorded byte by byte. */
  private relay(channel: ServerChannel, up: ClientChannel, from: string): void {
    repairWindowResume(channel);
    const id = ++this.opened;
    const opened = nowMicros();
    let toClient = 0;
    let fromClient = 0;
    let done = false;
    up.on("data", (d: Buffer) => {
      toClient += d.length;
      this.ctx.stats.bytesToClient += d.length;
      this.ctx.activity();
    });
    channel.on("data", (d: Buffer) => {
      fromClient += d.length;
      this.ctx.stats.bytesFromClient += d.length;
      this.ctx.activity();
    });
    const finish = (why: string) => {
      if (done) return;
      done = true;
      this.live.delete(closeBoth);
      channel.close();
      up.close();
      this.ctx.session.record({
        t: nowMicros(),
        dir: "server",
        kind: "ssh.x11",
        data: { channel: id, stage: "closed", bytes_to_client: toClient, bytes_from_client: fromClient },
      });
      this.ctx.session.event("ssh.x11_forwarded", {
        stage: "closed",
        channel: id,
        from,
        why,
        bytes_to_client: toClient,
        bytes_from_client: fromClient,
        duration_us: nowMicros() - opened,
      });
    };
    const closeBoth = () => finish("session ended");
    this.live.add(closeBoth);
    up.on("close", () => finish("target closed"));
    channel.on("close", () => finish("client closed"));
    up.pipe(channel);
    channel.pipe(up);
    this.ctx.session.record({
      t: opened,
      dir: "server",
      kind: "ssh.x11",
      data: { channel: id, stage: "opened", from },
    });
    this.ctx.session.event("ssh.x11_forwarded", { stage: "opened", channel: id, from });
  }
}
