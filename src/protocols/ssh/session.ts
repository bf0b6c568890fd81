// One authenticated SSH client connection: its gateway session, its one upstream connection (dialled on
// the first decided channel), and its channels. Channel types and requests are on allow-lists: `session`
// channels with pty-req, window-change, signal, exec, shell and the sftp subsystem, direct-tcpip where the
// policy allows its destination (forward.ts) and tcpip-forward where it allows the bind address and port
// (remote-forward.ts), x11-req and auth-agent-req where it allows them for the identity (x11-forward.ts,
// agent-forward.ts); everything else (streamlocal, env, other subsystems and unknown requests) is
// refused and audited. Each exec,
// shell, subsystem and forward is decided before the target sees it.
import type ssh2 from "ssh2";
import type { PseudoTtyInfo, ServerChannel, Session } from "ssh2";
import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import { type Decision, deny } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { GatewaySession, SessionStats } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { AgentForwarding } from "./agent-forward.ts";
import { execCommand, shellCommand, subsystemCommand } from "./command.ts";
import { type ForwardContext, forwardTcp } from "./forward.ts";
import { outputMaskers } from "./mask.ts";
import { relayChannel } from "./relay.ts";
import { RemoteForwards } from "./remote-forward.ts";
import { watchForwardingRequests } from "./session-forwarding.ts";
import { relaySftp } from "./sftp.ts";
import type { SshTarget } from "./target.ts";
import { dialTarget } from "./upstream.ts";
import { refusalText } from "./wire-error.ts";
import { X11Forwarding } from "./x11-forward.ts";

/** pty-req as ssh2 reports it (its types omit the TERM value, RFC 4254 §6.2). */
type Pty = PseudoTtyInfo & { term?: string };

/** Signals relayed to the target (RFC 4254 §6.9 names, without "SIG"). */
const SIGNALS = new Set(["HUP", "INT", "QUIT", "TERM", "KILL", "USR1", "USR2", "ALRM", "PIPE"]);
/** Exit status of a command the gateway refused (the shell's "found but cannot run"). */
export const REFUSED_STATUS = 126;
/** Held output bound for masking: longer than any line a detector reads. */
const MASK_BOUND = 1 << 20;

export interface ConnectionContext {
  masking: MaskingEngine;
  logger: Logger;
  dialTimeoutMs: number;
}

export class ClientConnection {
  readonly stats: SessionStats = { bytesFromClient: 0, bytesToClient: 0, commands: 0 };
  private upstream: Promise<ssh2.Client> | null = null;
  private lastActivity = Date.now();
  private readonly startedAt = Date.now();
  private readonly channels = new Set<ServerChannel>();
  private readonly timer: ReturnType<typeof setInterval>;
  private closed = false;
  private readonly remoteForwards: RemoteForwards;
  private readonly agentForwarding: AgentForwarding;
  private readonly x11Forwarding: X11Forwarding;

  constructor(
    private readonly client: ssh2.Connection,
    readonly session: GatewaySession<SshTarget>,
    private readonly ctx: ConnectionContext,
  ) {
    session.onTerminate((reason) => this.end(reason));
    this.timer = setInterval(() => this.checkTimeouts(), 1000);
    this.timer.unref();
    client.on("session", (accept) => this.onSession(accept()));
    const forwards: ForwardContext = {
      session: this.session,
      stats: this.stats,
      activity: this.activity,
      upstream: () => this.dial(),
      track: (channel) => {
        this.channels.add(channel);
        channel.on("close", () => this.channels.delete(channel));
      },
      refused: (request, data) => this.refused(request, data),
    };
    this.remoteForwards = new RemoteForwards(forwards, client);
    this.agentForwarding = new AgentForwarding(forwards, client);
    this.x11Forwarding = new X11Forwarding(forwards, client);
    client.on("tcpip", (accept, reject, info) => {
      void forwardTcp(forwards, accept, reject, info).catch((err) =>
        this.ctx.logger.error("ssh forward failed", { error: String(err) }),
      );
    });
    client.on("openssh.streamlocal", (_accept, reject, info) => {
      this.refused("direct-streamlocal@openssh.com", { socket: info.socketPath });
      reject();
    });
    client.on("request", (accept, reject, name, info) => {
      if (name === "tcpip-forward")
        void this.remoteForwards
          .request(accept, reject, info)
          .catch((err) => this.ctx.logger.error("ssh remote forward failed", { error: String(err) }));
      else if (name === "cancel-tcpip-forward") this.remoteForwards.cancel(accept, reject, info);
      else {
        this.refused(name, {});
        reject?.();
      }
    });
    client.on("close", () => void this.close("client"));
  }

  /** The one target connection, dialled on first use, with the forwarding relays on it. */
  private dial(): Promise<ssh2.Client> {
    this.upstream ??= dialTarget(this.session.connection.target, this.ctx.dialTimeoutMs, {
      agent: this.agentForwarding.agent,
      onX11: this.x11Forwarding.fromTarget,
      onChannelOpen: (type) => {
        if (type === "auth-agent@openssh.com") this.agentForwarding.channelOpened();
        else if (type === "x11") this.x11Forwarding.channelOpened();
        else if (type !== "forwarded-tcpip")
          this.refused("channel-open", { channel_type: type, from: "target" });
      },
    });
    return this.upstream;
  }

  activity = (): void => {
    this.lastActivity = Date.now();
  };

  /** `ssh.refused`: an attempt outside the allow-lists, logged as privileged use (ffiec-controls F4). */
  private refused(request: string, data: Record<string, unknown>): void {
    this.session.event("ssh.refused", { request, ...data });
  }

  private onSession(s: Session): void {
    let pty: Pty | null = null;
    let live: ssh2.ClientChannel | null = null;
    const forwarding = watchForwardingRequests(s, this.agentForwarding, this.x11Forwarding, this.ctx.logger);
    s.on("pty", (accept, _reject, info) => {
      pty = info;
      accept?.();
    });
    s.on("window-change", (accept, _reject, info) => {
      accept?.();
      if (pty) Object.assign(pty, { cols: info.cols, rows: info.rows });
      this.session.record({
        t: nowMicros(),
        dir: "client",
        kind: "term.resize",
        data: { cols: info.cols, rows: info.rows },
      });
      live?.setWindow(info.rows, info.cols, info.height, info.width);
    });
    s.on("signal", (accept, reject, info) => {
      const name = String(info.name).replace(/^SIG/, "");
      if (!SIGNALS.has(name) || !live) {
        this.refused("signal", { signal: name });
        reject?.();
        return;
      }
      accept?.();
      this.session.record({ t: nowMicros(), dir: "client", kind: "term.signal", data: { signal: name } });
      live.signal(name);
    });
    s.on("env", (_accept, reject, info) => {
      // The environment is input the policy does not see: never forwarded.
      this.refused("env", { name: info.key });
      reject?.();
    });
    s.on("exec", (accept, _reject, info) => {
      const channel = accept();
      const command = execCommand(info.command, pty !== null);
      void this.run(channel, command, async (up, decision) => {
        const maskers = this.maskersFor(decision);
        const extra = await forwarding();
        const stream = await new Promise<ssh2.ClientChannel>((res, rej) =>
          up.exec(info.command, { ...(pty ? { pty: ptyOptions(pty) } : {}), ...extra }, (err, st) =>
            err ? rej(err) : res(st),
          ),
        );
        live = stream;
        return relayChannel(channel, stream, this.relayOptions("exec.stdin", maskers));
      });
    });
    s.on("shell", (accept) => {
      const channel = accept();
      void this.run(channel, shellCommand(pty?.term ?? null), async (up) => {
        this.session.record({
          t: nowMicros(),
          dir: "client",
          kind: "term.start",
          data: { cols: pty?.cols ?? 80, rows: pty?.rows ?? 24, term: pty?.term ?? "" },
        });
        const extra = await forwarding();
        const stream = await new Promise<ssh2.ClientChannel>((res, rej) =>
          up.shell(pty ? ptyOptions(pty) : false, extra, (err, st) => (err ? rej(err) : res(st))),
        );
        live = stream;
        return relayChannel(channel, stream, this.relayOptions("term.in", null));
      });
    });
    s.on("subsystem", (accept, reject, info) => {
      if (info.name !== "sftp") {
        this.refused("subsystem", { subsystem: info.name });
        reject?.();
        return;
      }
      const channel = accept();
      void this.run(channel, subsystemCommand("sftp"), async (up, decision) => {
        const stream = await new Promise<ssh2.ClientChannel>((res, rej) =>
          up.subsys("sftp", (err, st) => (err ? rej(err) : res(st))),
        );
        live = stream;
        return relaySftp(channel, stream, {
          session: this.session,
          stats: this.stats,
          activity: this.activity,
          masked: decision.mask.length > 0,
          recordContent: this.session.connection.target.recordContent,
        });
      });
    });
  }

  private relayOptions(
    inputKind: "term.in" | "exec.stdin",
    maskers: ReturnType<typeof outputMaskers> | null,
  ) {
    return {
      session: this.session,
      stats: this.stats,
      inputKind,
      maskers: maskers ? { stdout: maskers.stdout, stderr: maskers.stderr } : null,
      activity: this.activity,
    };
  }

  /** Null for an unmasked decision; throws (the caller denies) when the rules cannot be built. */
  private maskersFor(decision: Decision): ReturnType<typeof outputMaskers> | null {
    return decision.mask.length > 0 ? outputMaskers(this.ctx.masking, decision.mask, MASK_BOUND) : null;
  }

  /**
   * Decides a channel's command (holding it while under review), then starts it on the target and waits
   * for it to end. Refusals end the channel with the reason on stderr and exit status 126.
   */
  private async run(
    channel: ServerChannel,
    command: Command,
    start: (
      up: ssh2.Client,
      decision: Decision,
    ) => Promise<{
      code: number | null;
      signal: string | null;
      bytesOut: number;
      bytesErr: number;
      bytesIn: number;
      error: string | null;
    }>,
  ): Promise<void> {
    this.channels.add(channel);
    channel.on("close", () => this.channels.delete(channel));
    const started = nowMicros();
    this.stats.commands++;
    this.activity();
    let decision: Decision;
    if (!this.session.recordable())
      decision = deny("audit store unavailable: commands are refused", "custos.audit_unavailable");
    else decision = await this.session.decide(command);
    this.session.record({
      t: started,
      dir: "client",
      kind: "ssh.command",
      data: { text: command.text, ...command.details },
    });
    if (decision.action === "review") {
      decision = await this.session.review(command, decision, {}, (notice) => {
        channel.stderr.write(
          `custos: ${notice.message}\r\ncustos: request ${notice.requestId}. ${notice.hint}\r\n`,
        );
      });
    }
    const pty = (command.details?.pty as boolean | undefined) ?? false;
    if (decision.action === "allow" && decision.mask.length > 0) {
      // Terminal output interleaves escape sequences with text, which the detectors cannot read whole;
      // shells and PTYs are refused to masked identities rather than relayed unmasked.
      if (pty || command.details?.channel === "shell")
        decision = deny(
          "masked identities cannot use a terminal: its output cannot be masked",
          "custos.ssh_masked_terminal",
        );
      else {
        try {
          this.maskersFor(decision);
        } catch (err) {
          decision = deny(err instanceof Error ? err.message : String(err), "custos.mask_unavailable");
        }
      }
    }
    if (decision.action !== "allow") {
      channel.stderr.write(refusalText(decision));
      channel.exit(REFUSED_STATUS);
      channel.end();
      this.session.completed(command, decision, {
        tag: null,
        rows: 0,
        durationUs: nowMicros() - started,
        error: {
          code: decision.action === "review" ? "policy.review" : "policy.denied",
          message: decision.reason,
        },
        detail: { exit_code: REFUSED_STATUS },
      });
      return;
    }
    try {
      if (decision.record === "sync") await this.session.durable();
      const up = await this.dial();
      const r = await start(up, decision);
      this.session.completed(command, decision, {
        tag: r.signal !== null ? `signal ${r.signal}` : `exit ${r.code ?? "-"}`,
        rows: 0,
        durationUs: nowMicros() - started,
        ...(r.error ? { error: { code: "upstream.protocol", message: r.error } } : {}),
        detail: {
          exit_code: r.code,
          signal: r.signal,
          bytes_in: r.bytesIn,
          bytes_out: r.bytesOut,
          bytes_err: r.bytesErr,
        },
      });
    } catch (err) {
      const e =
        err instanceof CustosError
          ? err
          : new CustosError("upstream.unreachable", String(err instanceof Error ? err.message : err));
      this.upstream = null;
      this.session.event("upstream.error", { code: e.code, message: e.message });
      channel.stderr.write(`custos: ${e.message}\r\n`);
      channel.exit(255);
      channel.end();
      this.session.completed(command, decision, {
        tag: null,
        rows: 0,
        durationUs: nowMicros() - started,
        error: { code: e.code, message: e.message },
      });
    }
  }

  private checkTimeouts(): void {
    const now = Date.now();
    const { idleTimeoutMs, maxSessionMs } = this.session.limits;
    if (now - this.lastActivity >= idleTimeoutMs)
      this.end(new CustosError("session.idle_timeout", "the session was idle too long"));
    else if (now - this.startedAt >= maxSessionMs)
      this.end(new CustosError("session.max_duration", "the session reached its maximum duration"));
  }

  /** The gateway ends the session: every open channel is told why, then the connection closes. */
  end(reason: CustosError): void {
    if (this.closed) return;
    for (const ch of this.channels) {
      ch.stderr.write(`\r\ncustos: ${reason.message}\r\n`);
      ch.exit(255);
      ch.end();
    }
    const why =
      reason.code === "session.idle_timeout"
        ? "idle_timeout"
        : reason.code === "session.max_duration"
          ? "max_duration"
          : "shutdown";
    setTimeout(() => this.client.end(), 100).unref();
    void this.close(why);
  }

  async close(reason: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.remoteForwards.closeAll();
    this.agentForwarding.closeAll();
    this.x11Forwarding.closeAll();
    const up = this.upstream;
    this.upstream = null;
    up?.then(
      (c) => c.end(),
      () => {},
    );
    await this.session.close(reason, this.stats);
  }
}

function ptyOptions(p: Pty): ssh2.PseudoTtyOptions {
  return { term: p.term, cols: p.cols, rows: p.rows, width: p.width, height: p.height, modes: p.modes };
}
