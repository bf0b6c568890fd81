// Remote forwarding (RFC 4254 §7.1, `ssh -R`): a tcpip-forward global request is decided by the policy on
// the bind address and port the client asked for (the default pack refuses every one;
// `lists.ssh.remote_forward_allowed` names the exceptions). Only an allowed request reaches the target,
// which is asked to listen on the same address and port (forwardIn); a refused one never does, so nothing
// listens there. Each forwarded-tcpip channel the target then opens for that listener is relayed to the
// client (forwardOut) with every byte recorded and an `ssh.forwarded` event; connections for listeners this
// session did not open are refused. cancel-tcpip-forward and the session's end stop the listener on the
// target, and the forward's statement is completed then, with its connection and byte counts.
import type ssh2 from "ssh2";
import type { ClientChannel, ServerChannel } from "ssh2";
import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { remoteForwardCommand } from "./command.ts";
import { decideForward, type ForwardContext } from "./forward.ts";
import { relayChannel } from "./relay.ts";

interface Listener {
  command: Command;
  decision: Decision;
  started: number;
  /** The address as the client sent it, which its forwarded-tcpip channels must name (RFC 4254 §7.2). */
  host: string;
  requestedPort: number;
  /** The port the target listens on (the requested one, or the one it chose for port 0). */
  port: number;
  up: ssh2.Client;
  connections: number;
  bytesIn: number;
  bytesOut: number;
  done: boolean;
}

type Reply = ((port?: number) => void) | undefined;

export class RemoteForwards {
  private readonly listeners = new Map<string, Listener>();
  private readonly watched = new WeakSet<ssh2.Client>();
  private closed = false;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly client: ssh2.Connection,
  ) {}

  async request(accept: Reply, reject: Reply, info: ssh2.TcpipBindInfo): Promise<void> {
    const { bindAddr: host, bindPort: requestedPort } = info;
    const command = remoteForwardCommand(host, requestedPort);
    const started = nowMicros();
    const listen = `${host}:${requestedPort}`;
    this.ctx.stats.commands++;
    this.ctx.activity();
    const decision = await decideForward(this.ctx.session, command);
    const refuse = (d: Decision, code: string, message: string) => {
      this.ctx.refused("tcpip-forward", { listen, rule: d.rule });
      reject?.();
      this.ctx.session.completed(command, d, {
        tag: null,
        rows: 0,
        durationUs: nowMicros() - started,
        error: { code, message },
      });
    };
    if (decision.action !== "allow") return refuse(decision, "policy.denied", decision.reason);
    if (this.listeners.has(key(host, requestedPort)))
      return refuse(decision, "ssh.forward_exists", `${listen} is already forwarded`);
    try {
      if (decision.record === "sync") await this.ctx.session.durable();
      const up = await this.ctx.upstream();
      this.watch(up);
      // Registered and answered in forwardIn's callback, before the target's next packet is read: a
      // connection the target forwards at once finds its listener, and the client hears of the forward
      // before its first forwarded-tcpip channel.
      await new Promise<void>((res, rej) =>
        up.forwardIn(host, requestedPort, (err, port) => {
          if (err) return rej(err);
          if (this.closed) {
            // The session ended while the target was asked: its listener goes at once.
            withdraw(up, host, port);
            return rej(new Error("the session ended"));
          }
          this.listeners.set(key(host, port), {
            command,
            decision,
            started,
            host,
            requestedPort,
            port,
            up,
            connections: 0,
            bytesIn: 0,
            bytesOut: 0,
            done: false,
          });
          this.ctx.session.record({
            t: started,
            dir: "client",
            kind: "ssh.command",
            data: { text: command.text, ...command.details, port },
          });
          this.ctx.session.event("ssh.forwarded", {
            direction: "remote",
            listen: `${host}:${port}`,
            rule: decision.rule,
          });
          accept?.(port);
          res();
        }),
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return refuse(decision, "upstream.unreachable", `the target could not listen on ${listen}: ${message}`);
    }
  }

  /** cancel-tcpip-forward: only a listener this session opened; the target stops listening. */
  cancel(accept: Reply, reject: Reply, info: ssh2.TcpipBindInfo): void {
    const l = this.find(info.bindAddr, info.bindPort);
    if (!l) {
      this.ctx.refused("cancel-tcpip-forward", { listen: `${info.bindAddr}:${info.bindPort}` });
      reject?.();
      return;
    }
    this.stop(l, "cancelled");
    accept?.();
  }

  /** The session ends: every listener is stopped on the target and its statement completed. */
  closeAll(): void {
    this.closed = true;
    for (const l of [...this.listeners.values()]) this.stop(l, "session ended");
  }

  private find(host: string, port: number): Listener | undefined {
    const byPort = this.listeners.get(key(host, port));
    if (byPort) return byPort;
    for (const l of this.listeners.values()) if (l.host === host && l.requestedPort === port) return l;
    return undefined;
  }

  private stop(l: Listener, why: string): void {
    if (l.done) return;
    l.done = true;
    this.listeners.delete(key(l.host, l.port));
    withdraw(l.up, l.host, l.port);
    this.ctx.session.completed(l.command, l.decision, {
      tag: why,
      rows: 0,
      durationUs: nowMicros() - l.started,
      detail: { port: l.port, connections: l.connections, bytes_in: l.bytesIn, bytes_out: l.bytesOut },
    });
  }

  /** One handler per target connection: its forwarded-tcpip channels, and its end ending the listeners. */
  private watch(up: ssh2.Client): void {
    if (this.watched.has(up)) return;
    this.watched.add(up);
    up.on("tcp connection", (details, acceptUp, rejectUp) => {
      const l = this.listeners.get(key(details.destIP, details.destPort));
      if (!l || l.up !== up) {
        this.ctx.refused("forwarded-tcpip", { listen: `${details.destIP}:${details.destPort}` });
        rejectUp();
        return;
      }
      void this.relay(l, details, acceptUp, rejectUp);
    });
    up.on("close", () => {
      for (const l of [...this.listeners.values()]) if (l.up === up) this.stop(l, "target closed");
    });
  }

  private async relay(
    l: Listener,
    details: ssh2.TcpConnectionDetails,
    acceptUp: () => ClientChannel,
    rejectUp: () => void,
  ): Promise<void> {
    const from = `${details.srcIP}:${details.srcPort}`;
    const listen = `${l.host}:${l.port}`;
    this.ctx.activity();
    let channel: ServerChannel;
    try {
      channel = await new Promise<ServerChannel>((res, rej) =>
        this.client.forwardOut(l.host, l.port, details.srcIP, details.srcPort, (err, ch) =>
          err ? rej(err) : res(ch as unknown as ServerChannel),
        ),
      );
    } catch (err) {
      // The client would not take the connection (it has no such forward, or refused it).
      rejectUp();
      this.ctx.session.event("ssh.forward_failed", {
        direction: "remote",
        listen,
        from,
        message: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    if (l.done) {
      rejectUp();
      channel.close();
      return;
    }
    const upChannel = acceptUp();
    l.connections++;
    this.ctx.track(channel);
    this.ctx.session.event("ssh.forwarded", { direction: "remote", listen, from, rule: l.decision.rule });
    const r = await relayChannel(channel, upChannel, {
      session: this.ctx.session,
      stats: this.ctx.stats,
      inputKind: "exec.stdin",
      maskers: null,
      activity: this.ctx.activity,
      halfClose: true,
    });
    l.bytesIn += r.bytesIn;
    l.bytesOut += r.bytesOut;
  }
}

/** Asks the target to stop listening (cancel-tcpip-forward, RFC 4254 §7.1). */
function withdraw(up: ssh2.Client, host: string, port: number): void {
  try {
    up.unforwardIn(host, port, () => {});
  } catch {
    // The target's connection is already gone, and its listener with it.
  }
}

function key(host: string, port: number): string {
  return `${host}\u0000${port}`;
}
