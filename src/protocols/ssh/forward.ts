// direct-tcpip (RFC 4254 §7.2, `ssh -L`): refused unless the policy allows that destination for the
// identity (the default pack refuses every one; `lists.ssh.forward_allowed` names the exceptions). Decided
// before the channel is confirmed; a refusal is an open failure and an `ssh.refused` event. An allowed
// forward is opened from the target (forwardOut) and relayed with every byte recorded. It cannot wait for
// an approval (the client has no stderr to be told on) and its bytes cannot be masked, so a review or a
// masked decision refuses it.
import type ssh2 from "ssh2";
import type { ServerChannel } from "ssh2";
import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import { type Decision, deny } from "../../core/decision.ts";
import type { GatewaySession, SessionStats } from "../../core/session.ts";
import { forwardCommand } from "./command.ts";
import { relayChannel } from "./relay.ts";
import type { SshTarget } from "./target.ts";

export interface ForwardContext {
  session: GatewaySession<SshTarget>;
  stats: SessionStats;
  activity(): void;
  upstream(): Promise<ssh2.Client>;
  track(channel: ServerChannel): void;
  refused(request: string, data: Record<string, unknown>): void;
}

/**
 * The policy's decision on a forward (either direction), narrowed: a forward cannot wait for an approval
 * (the client has no stderr to be told on) and its bytes cannot be masked, so review and masked allows
 * refuse; an audit store that cannot record refuses too.
 */
export async function decideForward(session: GatewaySession<SshTarget>, command: Command): Promise<Decision> {
  const decision: Decision = session.recordable()
    ? await session.decide(command)
    : deny("audit store unavailable: commands are refused", "custos.audit_unavailable");
  if (decision.action === "review") return deny("forwarding cannot wait for an approval", decision.rule);
  if (decision.action === "allow" && decision.mask.length > 0)
    return deny("forwarded bytes cannot be masked", "custos.ssh_masked_forward");
  return decision;
}

export async function forwardTcp(
  ctx: ForwardContext,
  accept: () => ServerChannel,
  reject: () => void,
  info: ssh2.TcpipRequestInfo,
): Promise<void> {
  const command = forwardCommand(info.destIP, info.destPort);
  const started = nowMicros();
  const to = `${info.destIP}:${info.destPort}`;
  ctx.stats.commands++;
  ctx.activity();
  const decision = await decideForward(ctx.session, command);
  const refuse = (d: Decision, code: string, message: string) => {
    ctx.refused("direct-tcpip", { to, rule: d.rule });
    reject();
    ctx.session.completed(command, d, {
      tag: null,
      rows: 0,
      durationUs: nowMicros() - started,
      error: { code, message },
    });
  };
  if (decision.action !== "allow") return refuse(decision, "policy.denied", decision.reason);
  let upChannel: ssh2.ClientChannel;
  try {
    if (decision.record === "sync") await ctx.session.durable();
    const up = await ctx.upstream();
    upChannel = await new Promise<ssh2.ClientChannel>((res, rej) =>
      up.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (err, ch) =>
        err ? rej(err) : res(ch),
      ),
    );
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return refuse(decision, "upstream.unreachable", `the target could not open ${to}: ${message}`);
  }
  const channel = accept();
  ctx.track(channel);
  ctx.session.event("ssh.forwarded", { direction: "local", to, rule: decision.rule });
  ctx.session.record({
    t: started,
    dir: "client",
    kind: "ssh.command",
    data: { text: command.text, ...command.details },
  });
  const r = await relayChannel(channel, upChannel, {
    session: ctx.session,
    stats: ctx.stats,
    inputKind: "exec.stdin",
    maskers: null,
    activity: ctx.activity,
    halfClose: true,
  });
  ctx.session.completed(command, decision, {
    tag: "closed",
    rows: 0,
    durationUs: nowMicros() - started,
    detail: { bytes_in: r.bytesIn, bytes_out: r.bytesOut },
  });
}
