// One session channel's x11-req and auth-agent-req (x11-forward.ts, agent-forward.ts): decided as they
// arrive, since the client does not wait for their replies before exec or shell, and read back by the
// command's start, which asks the target for what was allowed. exec and shell are still accepted at
// once (ssh2 drops a client's EOF or data that comes before the accept), and ssh2 sends no reply to a
// request decided after that: the client may then not hear of a refusal, but the decision, its audit
// event and what reaches the target are the same.
import type { Session } from "ssh2";
import type { Logger } from "../../core/log.ts";
import type { AgentForwarding } from "./agent-forward.ts";
import type { X11Forwarding, X11Request } from "./x11-forward.ts";

/** The options the target's exec or shell gets (ssh2 ExecOptions / ShellOptions). */
export interface ForwardingOptions {
  agentForward?: true;
  x11?: X11Request;
}

export function watchForwardingRequests(
  s: Session,
  agent: AgentForwarding,
  x11: X11Forwarding,
  logger: Logger,
): () => Promise<ForwardingOptions> {
  let agentAsked: Promise<boolean> | null = null;
  let x11Asked: Promise<X11Request | null> | null = null;
  s.on("x11", (accept, reject, info) => {
    x11Asked = x11.request(accept, reject, info).catch((err) => {
      logger.error("ssh x11 request failed", { error: String(err) });
      reject?.();
      return null;
    });
  });
  s.on("auth-agent", (accept, reject) => {
    agentAsked = agent.request(accept, reject).catch((err) => {
      logger.error("ssh agent forwarding request failed", { error: String(err) });
      reject?.();
      return false;
    });
  });
  return async () => {
    const [agentAllowed, x11Allowed] = await Promise.all([agentAsked ?? false, x11Asked ?? null]);
    return {
      ...(agentAllowed ? { agentForward: true as const } : {}),
      ...(x11Allowed ? { x11: x11Allowed } : {}),
    };
  };
}
