// Agent forwarding (`ssh -A`, OpenSSH PROTOCOL.agent): the client's `auth-agent-req@openssh.com` on a
// session channel is decided by the policy (the default pack refuses it; `lists.ssh.agent_forward_allowed`
// names the groups that may). Only an allowed request is sent on to the target (with that session's exec
// or shell); a refused one never is, so the target's SSH_AUTH_SOCK stays unset. Each
// `auth-agent@openssh.com` channel the target then opens is relayed to the client's agent over a channel
// the gateway opens to the client, and recorded by message type and length only: key blobs, the data
// signed and signatures are neither kept nor recorded. The target may list keys, ask for signatures and
// send extensions (agent-codec.ts); a channel that asks anything else (add, remove, lock the client's
// keys) is closed before the request reaches the client. A channel the target opens when no request of
// this connection was allowed is refused and never reaches the client.
import { Duplex } from "node:stream";
import type { ServerChannel } from "ssh2";
import ssh2 from "ssh2";
import { nowMicros } from "../../core/clock.ts";
import type { Decision } from "../../core/decision.ts";
import { AGENT_REQUESTS_ALLOWED, AgentFramer, agentMessageName } from "./agent-codec.ts";
import { repairWindowResume } from "./channel-writes.ts";
import { agentForwardCommand } from "./command.ts";
import { decideForward, type ForwardContext } from "./forward.ts";

/**
 * The channel window and packet size ssh2 assumes for channels its server side opens (ssh2 1.17.0,
 * lib/Channel.js MAX_WINDOW and PACKET_SIZE). Written out, not required from ssh2/lib at run time, so the
 * single executable (which bundles only what is imported statically) carries them; agent-forward.test.ts
 * checks them against the installed ssh2.
 */
export const MAX_WINDOW = 2 * 1024 * 1024;
export const PACKET_SIZE = 32 * 1024;

type Reply = (() => void) | undefined;

/** ssh2's server connection internals used to open a channel type its public API lacks. */
interface ChannelOpener {
  _chanMgr: { add(cb: unknown): number; remove(id: number): void };
  _protocol: { openssh_authAgent(id: number, window: number, packetSize: number): void };
}

interface ChannelTally {
  id: number;
  opened: number;
  messages: Record<string, number>;
  bytesToClient: number;
  bytesFromClient: number;
}

export class AgentForwarding {
  /** The decision that allowed agent forwarding on this connection, once one was allowed. */
  private allowed: { decision: Decision; started: number } | null = null;
  private closed = false;
  private channelsOpened = 0;
  private channelsRefused = 0;
  private readonly live = new Set<() => void>();
  /** Handed to the target's connection (upstream.ts): ssh2 asks it for a stream per agent channel. */
  readonly agent: ssh2.BaseAgent;

  constructor(
    private readonly ctx: ForwardContext,
    private readonly client: ssh2.Connection,
  ) {
    const self = this;
    this.agent = new (class extends ssh2.BaseAgent {
      override getStream(cb: (err: Error | undefined, stream?: Duplex) => void): void {
        self.channelFromTarget(cb);
      }
      // Never an authentication method for the gateway's own login (upstream.ts pins its authHandler).
      getIdentities(cb: (err: Error | undefined) => void): void {
        cb(new Error("the forwarded agent does not authenticate the gateway"));
      }
      sign(_key: unknown, _data: Buffer, ...rest: unknown[]): void {
        const cb = rest.at(-1);
        if (typeof cb === "function") cb(new Error("the forwarded agent does not authenticate the gateway"));
      }
    })();
  }

  /** auth-agent-req@openssh.com on a session channel: true when it may go to the target. */
  async request(accept: Reply, reject: Reply): Promise<boolean> {
    const command = agentForwardCommand();
    const started = nowMicros();
    this.ctx.stats.commands++;
    this.ctx.activity();
    const decision = await decideForward(this.ctx.session, command);
    if (decision.action !== "allow") {
      this.ctx.refused("auth-agent-req@openssh.com", { rule: decision.rule });
      reject?.();
      this.ctx.session.completed(command, decision, {
        tag: null,
        rows: 0,
        durationUs: nowMicros() - started,
        error: { code: "policy.denied", message: decision.reason },
      });
      return false;
    }
    try {
      if (decision.record === "sync") await this.ctx.session.durable();
    } catch (err) {
      this.ctx.refused("auth-agent-req@openssh.com", { rule: "custos.audit_unavailable" });
      reject?.();
      this.ctx.session.completed(command, decision, {
        tag: null,
        rows: 0,
        durationUs: nowMicros() - started,
        error: { code: "audit.unavailable", message: err instanceof Error ? err.message : String(err) },
      });
      return false;
    }
    if (this.closed) return false;
    this.ctx.session.record({
      t: started,
      dir: "client",
      kind: "ssh.command",
      data: { text: command.text, ...command.details },
    });
    this.ctx.session.event("ssh.agent_forwarded", { stage: "allowed", rule: decision.rule });
    if (!this.allowed) this.allowed = { decision, started };
    // ssh2 asks the target once per connection: a later session shares the agent forwarding (if any)
    // of the first, so its statement is complete now.
    else
      this.ctx.session.completed(command, decision, {
        tag: "already allowed on this connection",
        rows: 0,
        durationUs: nowMicros() - started,
      });
    accept?.();
    return true;
  }

  /** The session ends: open agent channels close, and the allowed request's statement is completed. */
  closeAll(): void {
    if (this.closed) return;
    this.closed = true;
    for (const close of [...this.live]) close();
    if (!this.allowed) return;
    this.ctx.session.completed(agentForwardCommand(), this.allowed.decision, {
      tag: "session ended",
      rows: 0,
      durationUs: nowMicros() - this.allowed.started,
      detail: { channels: this.channelsOpened, refused_channels: this.channelsRefused },
    });
  }

  /**
   * The target opens an auth-agent@openssh.com channel (upstream.ts, before ssh2 handles it): where agent
   * forwarding was not allowed it is refused (by ssh2, which never asked for it, and by channelFromTarget)
   * and audited here.
   */
  channelOpened(): void {
    if (this.allowed && !this.closed) return;
    this.channelsRefused++;
    this.ctx.refused("auth-agent@openssh.com", { reason: "agent forwarding was not allowed" });
  }

  /** ssh2 accepted the target's auth-agent@openssh.com open and wants the stream it is piped to. */
  private channelFromTarget(cb: (err: Error | undefined, stream?: Duplex) => void): void {
    if (!this.allowed || this.closed) {
      cb(new Error("agent forwarding was not allowed"));
      return;
    }
    this.ctx.activity();
    openAgentChannel(this.client).then(
      (channel) => {
        if (this.closed) {
          channel.close();
          cb(new Error("the session ended"));
          return;
        }
        cb(undefined, this.bridge(channel));
      },
      (err: Error) => {
        this.ctx.session.event("ssh.forward_failed", {
          channel: "auth-agent@openssh.com",
          message: err.message,
        });
        cb(err);
      },
    );
  }

  /**
   * The stream ssh2 pipes the target's agent channel through: requests (target → client) are framed,
   * checked and written to the client's channel; answers come back unchanged. Both counted by type.
   */
  private bridge(channel: ServerChannel): Duplex {
    repairWindowResume(channel);
    const id = ++this.channelsOpened;
    const tally: ChannelTally = {
      id,
      opened: nowMicros(),
      messages: {},
      bytesToClient: 0,
      bytesFromClient: 0,
    };
    const requests = new AgentFramer();
    const answers = new AgentFramer();
    let upChannel: { close(): void } | null = null;
    let done = false;
    const note = (dir: "client" | "server", type: number, length: number) => {
      const name = agentMessageName(type);
      tally.messages[name] = (tally.messages[name] ?? 0) + 1;
      this.ctx.session.record({
        t: nowMicros(),
        dir,
        kind: "ssh.agent",
        data: { channel: id, message: name, type, length },
      });
    };
    const finish = (why: string) => {
      if (done) return;
      done = true;
      this.live.delete(closeBoth);
      bridge.destroy();
      channel.close();
      upChannel?.close();
      this.ctx.session.event("ssh.agent_forwarded", {
        stage: "closed",
        channel: id,
        why,
        messages: tally.messages,
        bytes_to_client: tally.bytesToClient,
        bytes_from_client: tally.bytesFromClient,
        duration_us: nowMicros() - tally.opened,
      });
    };
    const closeBoth = () => finish("session ended");
    this.live.add(closeBoth);
    const bridge = new Duplex({
      write: (chunk: Buffer, _enc, cb) => {
        this.ctx.activity();
        let messages: ReturnType<AgentFramer["push"]>;
        try {
          messages = requests.push(chunk);
        } catch (err) {
          finish(`malformed request: ${err instanceof Error ? err.message : String(err)}`);
          return cb();
        }
        for (const m of messages) {
          if (!AGENT_REQUESTS_ALLOWED.has(m.type)) {
            note("server", m.type, m.bytes.length);
            this.ctx.refused("auth-agent@openssh.com", { channel: id, message: agentMessageName(m.type) });
            finish(`refused ${agentMessageName(m.type)}`);
            return cb();
          }
        }
        if (messages.length === 0) return cb();
        for (const m of messages) note("server", m.type, m.bytes.length);
        const last = messages.length - 1;
        messages.forEach((m, i) => {
          tally.bytesToClient += m.bytes.length;
          this.ctx.stats.bytesToClient += m.bytes.length;
          // The callback of the last write is the backpressure: the target's side waits for the client.
          channel.write(Buffer.from(m.bytes), i === last ? () => cb() : undefined);
        });
      },
      read: () => {
        channel.resume();
      },
      final: (cb) => {
        channel.end();
        cb();
      },
    });
    bridge.on("pipe", (src: { close(): void; on(e: "close", f: () => void): void }) => {
      upChannel = src;
      src.on("close", () => finish("target closed"));
    });
    bridge.on("error", () => finish("relay error"));
    channel.on("data", (d: Buffer) => {
      this.ctx.activity();
      tally.bytesFromClient += d.length;
      this.ctx.stats.bytesFromClient += d.length;
      try {
        for (const m of answers.push(d)) note("client", m.type, m.bytes.length);
      } catch (err) {
        finish(`malformed answer: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      if (!bridge.push(d)) channel.pause();
    });
    channel.on("end", () => bridge.push(null));
    channel.on("close", () => finish("client closed"));
    this.ctx.session.event("ssh.agent_forwarded", { stage: "opened", channel: id });
    return bridge;
  }
}

/**
 * Opens an `auth-agent@openssh.com` channel to the client (PROTOCOL.agent §"Forwarding"), as ssh2's
 * server does for x11 and forwarded-tcpip: ssh2 1.17 has the packet (Protocol.openssh_authAgent) but no
 * Connection method for it.
 */
export function openAgentChannel(client: ssh2.Connection): Promise<ServerChannel> {
  return new Promise((resolve, reject) => {
    const c = client as unknown as ChannelOpener;
    if (typeof c._chanMgr?.add !== "function" || typeof c._protocol?.openssh_authAgent !== "function") {
      reject(new Error("this ssh2 cannot open agent channels"));
      return;
    }
    const opened = Object.assign(
      (err: Error | undefined, channel: ServerChannel) => (err ? reject(err) : resolve(channel)),
      { type: "auth-agent@openssh.com" },
    );
    const id = c._chanMgr.add(opened);
    if (id === -1) {
      reject(new Error("no free channels"));
      return;
    }
    try {
      c._protocol.openssh_authAgent(id, MAX_WINDOW, PACKET_SIZE);
    } catch (err) {
      c._chanMgr.remove(id);
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
