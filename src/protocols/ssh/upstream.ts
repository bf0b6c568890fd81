// Dials the target as the connection's account with the credential the gateway holds. The target must
// present one of the pinned host keys: the key exchange is limited to the pinned keys' algorithms (so a
// server with several keys shows the pinned one) and any other key ends the dial before authentication.
// The session's forwarding relays ride on the connection: `agent` answers the target's
// auth-agent@openssh.com channels (agent-forward.ts) and `onX11` its x11 channels (x11-forward.ts).
import ssh2 from "ssh2";
import { CustosError } from "../../core/errors.ts";
import type { SshTarget } from "./target.ts";

const RSA_ALGORITHMS = ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];

export interface UpstreamRelays {
  agent: ssh2.BaseAgent;
  onX11(details: ssh2.X11Details, accept: () => ssh2.ClientChannel, reject: () => void): void;
  /** Every channel the target opens towards the gateway, by type, before ssh2 accepts or refuses it. */
  onChannelOpen(type: string): void;
}

export function dialTarget(
  target: SshTarget,
  timeoutMs: number,
  relays?: UpstreamRelays,
): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const conn = new ssh2.Client();
    let hostKeyRefused = false;
    const algorithms = [
      ...new Set(target.hostKeys.flatMap((k) => (k.type === "ssh-rsa" ? RSA_ALGORITHMS : [k.type]))),
    ];
    const fail = (err: CustosError) => {
      conn.removeAllListeners("ready");
      conn.on("error", () => {});
      conn.end();
      reject(err);
    };
    conn.once("ready", () => {
      conn.removeAllListeners("error");
      resolve(conn);
    });
    conn.once("error", (err: Error & { level?: string }) => {
      if (hostKeyRefused) {
        fail(new CustosError("upstream.protocol", "the target's host key is not the pinned one: refused"));
      } else if (err.level === "client-authentication") {
        fail(new CustosError("upstream.auth_failed", "the target refused the gateway's credential"));
      } else if (err.level === "client-timeout") {
        fail(new CustosError("upstream.timeout", "the target did not answer in time"));
      } else {
        fail(new CustosError("upstream.unreachable", `cannot reach the target: ${err.message}`));
      }
    });
    const auth =
      target.auth.kind === "key"
        ? { privateKey: target.auth.privateKey.reveal() }
        : { password: target.auth.password.reveal(), tryKeyboard: false };
    if (relays) conn.on("x11", relays.onX11);
    conn.connect({
      host: target.host,
      port: target.port,
      username: target.user,
      ...auth,
      // The agent is there only for forwarding: the gateway logs in with its own credential, never the
      // client's agent (ssh2 would try an agent given here as an authentication method).
      ...(relays ? { agent: relays.agent } : {}),
      authHandler: ["none", target.auth.kind === "key" ? "publickey" : "password"],
      readyTimeout: timeoutMs,
      keepaliveInterval: 15_000,
      algorithms: { serverHostKey: algorithms as ssh2.ServerHostKeyAlgorithm[] },
      hostVerifier: (key: Buffer) => {
        const ok = target.hostKeys.some((k) => Buffer.from(k.blob).equals(key));
        if (!ok) hostKeyRefused = true;
        return ok;
      },
    });
    if (relays) watchChannelOpens(conn, relays.onChannelOpen);
  });
}

/** ssh2's client internals: the protocol's handler table, looked up for each message (protocol/handlers.misc.js). */
interface HandlerTable {
  _protocol?: { _handlers?: { CHANNEL_OPEN?: (p: unknown, info: { type?: unknown }) => unknown } };
}

/**
 * ssh2 refuses a channel the target opens without a request for it (auth-agent@openssh.com before agent
 * forwarding was asked, x11 before x11-req, unknown types) on its own and silently: this tells the
 * session first, so those refusals are audited too.
 */
function watchChannelOpens(conn: ssh2.Client, seen: (type: string) => void): void {
  const handlers = (conn as unknown as HandlerTable)._protocol?._handlers;
  const original = handlers?.CHANNEL_OPEN;
  if (!handlers || typeof original !== "function") return;
  handlers.CHANNEL_OPEN = (p, info) => {
    seen(String(info?.type ?? ""));
    return original(p, info);
  };
}
