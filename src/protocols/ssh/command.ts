// The commands an SSH session asks the policy about, as values: an exec (its raw string and the shell's
// reading of it, shell-words.ts), a shell, a subsystem, one SFTP operation on a path. Pure. Every field in
// `details` is derived from what `shape` holds, so the decision cache keys on the shape.
import type { Command } from "../../core/command.ts";
import { parseShellWords } from "./shell-words.ts";

export const PROTOCOL = "ssh";

/** `exec`: the string the target's shell runs (`sh -c`), decided whole and forwarded unchanged. */
export function execCommand(raw: string, pty: boolean): Command {
  const w = parseShellWords(raw);
  return {
    protocol: PROTOCOL,
    text: raw,
    keyword: w.argv[0]?.toLowerCase(),
    details: {
      channel: "exec",
      pty,
      argv: w.argv,
      program: w.argv[0] ?? "",
      simple: w.simple,
      operators: w.operators,
      redirections: w.redirections,
      redirect_targets: w.redirectTargets,
      substitutions: w.substitutions,
      expansions: w.expansions,
      assignments: w.assignments,
      comment: w.comment,
      parse_error: w.error,
    },
    shape: `exec\u0000${pty ? 1 : 0}\u0000${raw}`,
  };
}

export function shellCommand(term: string | null): Command {
  return {
    protocol: PROTOCOL,
    text: "shell",
    keyword: "shell",
    details: { channel: "shell", pty: term !== null, term: term ?? "" },
    shape: `shell\u0000${term ?? ""}`,
  };
}

export function subsystemCommand(name: string): Command {
  return {
    protocol: PROTOCOL,
    text: `subsystem ${name}`,
    keyword: "subsystem",
    details: { channel: "subsystem", subsystem: name },
    shape: `subsystem\u0000${name}`,
  };
}

/** A direct-tcpip channel (RFC 4254 §7.2, `ssh -L`): a TCP connection the target would open for the client. */
export function forwardCommand(host: string, port: number): Command {
  return {
    protocol: PROTOCOL,
    text: `direct-tcpip ${host}:${port}`,
    keyword: "direct-tcpip",
    details: { channel: "direct-tcpip", dest_host: host, dest_port: port },
    shape: `direct-tcpip\u0000${host}\u0000${port}`,
  };
}

/**
 * A tcpip-forward global request (RFC 4254 §7.1, `ssh -R`): the client asks the target to listen on
 * `host:port` (port 0: any) and send it each connection made there.
 */
export function remoteForwardCommand(host: string, port: number): Command {
  return {
    protocol: PROTOCOL,
    text: `tcpip-forward ${host}:${port}`,
    keyword: "tcpip-forward",
    details: { channel: "tcpip-forward", bind_host: host, bind_port: port },
    shape: `tcpip-forward\u0000${host}\u0000${port}`,
  };
}

/**
 * Agent forwarding (`ssh -A`): an `auth-agent-req@openssh.com` request on a session channel
 * (OpenSSH PROTOCOL.agent), after which the target may open `auth-agent@openssh.com` channels back to
 * the client's agent. It carries no arguments, so one shape serves every session.
 */
export function agentForwardCommand(): Command {
  return {
    protocol: PROTOCOL,
    text: "auth-agent-req@openssh.com",
    keyword: "auth-agent-req",
    details: { channel: "session", request: "auth-agent-req" },
    shape: "session\u0000auth-agent-req",
  };
}

/**
 * X11 forwarding (`ssh -X`/`-Y`): an `x11-req` on a session channel (RFC 4254 §6.3.1). The cookie is an
 * authentication secret for the display: it is forwarded but never part of the command, its shape or
 * its record.
 */
export function x11Command(single: boolean, authProtocol: string, screen: number): Command {
  return {
    protocol: PROTOCOL,
    text: `x11-req ${authProtocol} screen ${screen}${single ? " single" : ""}`,
    keyword: "x11-req",
    details: {
      channel: "session",
      request: "x11-req",
      x11_single: single,
      x11_auth_protocol: authProtocol,
      x11_screen: screen,
    },
    shape: `session\u0000x11-req\u0000${single ? 1 : 0}\u0000${authProtocol}\u0000${screen}`,
  };
}

export type SftpOp =
  | "open_read"
  | "open_write"
  | "remove"
  | "rename"
  | "mkdir"
  | "rmdir"
  | "setstat"
  | "symlink"
  | "hardlink"
  | "list"
  | "stat"
  | "readlink";

/** One SFTP operation on its path(s), as the gateway forwards them (normalised, sftp-codec.ts). */
export function sftpCommand(op: SftpOp, path: string, target?: string): Command {
  return {
    protocol: PROTOCOL,
    text: target === undefined ? `sftp ${op} ${path}` : `sftp ${op} ${path} ${target}`,
    keyword: op,
    details: { channel: "sftp", sftp_op: op, path, ...(target === undefined ? {} : { target }) },
    shape: `sftp\u0000${op}\u0000${path}\u0000${target ?? ""}`,
  };
}
