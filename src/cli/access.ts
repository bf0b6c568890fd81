// `custos access request`, `access list` and `access revoke`: just-in-time access to connections marked
// `access: request`, through the running gateway's API.
import { parseDuration } from "../config/duration.ts";
import { apiClient, CLIENT_FLAGS, CLIENT_USAGE, describeRequest } from "./access-client.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";

export const accessRequestCommand: CliCommand = {
  name: "access request",
  summary: "ask for time-boxed access to a connection",
  usage: `usage: custos access request --connection NAME --duration 30m --reason TEXT [--token T] [--gateway URL | --config FILE]

Files an access request; approvers decide it with custos approve/deny. Once approved, the grant admits your
identity to the connection for the duration (at most the connection's max_duration); when it ends, open
sessions are closed. Prints the request id.
${CLIENT_USAGE}`,
  async run(argv) {
    const { flags } = parseFlags(argv, {
      ...CLIENT_FLAGS,
      connection: "string",
      duration: "string",
      reason: "string",
    });
    if (typeof flags.connection !== "string") throw new CliError("access request needs --connection NAME", 2);
    if (typeof flags.duration !== "string") throw new CliError("access request needs --duration like 30m", 2);
    const ms = parseDuration(flags.duration);
    if (ms === null || ms <= 0)
      throw new CliError(`--duration: expected a duration like 30m, got "${flags.duration}"`, 2);
    if (typeof flags.reason !== "string" || !flags.reason.trim())
      throw new CliError("access request needs --reason TEXT", 2);
    const r = await apiClient(flags).call("POST", "/access-requests", {
      connection: flags.connection,
      duration_ms: ms,
      reason: flags.reason,
    });
    process.stdout.write(flags.json ? `${JSON.stringify(r, null, 2)}\n` : `${r.id}\n`);
    return 0;
  },
};

export const accessListCommand: CliCommand = {
  name: "access list",
  summary: "list access requests, grants and statement reviews",
  usage: `usage: custos access list [--status pending|approved|denied|expired|abandoned|revoked] [--kind access|statement] [--token T] [--gateway URL | --config FILE]

Lists the requests you filed and those you may decide, newest first.
${CLIENT_USAGE}`,
  async run(argv) {
    const { flags } = parseFlags(argv, { ...CLIENT_FLAGS, status: "string", kind: "string" });
    const q = new URLSearchParams();
    if (typeof flags.status === "string") q.set("status", flags.status);
    if (typeof flags.kind === "string") q.set("kind", flags.kind);
    const r = await apiClient(flags).call("GET", `/approvals${q.size ? `?${q}` : ""}`);
    const rows = (r.requests as Record<string, unknown>[]) ?? [];
    if (flags.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else process.stdout.write(rows.length ? `${rows.map(describeRequest).join("\n\n")}\n` : "no requests\n");
    return 0;
  },
};

export const accessRevokeCommand: CliCommand = {
  name: "access revoke",
  summary: "end a live access grant now",
  usage: `usage: custos access revoke ID --reason TEXT [--token T] [--gateway URL | --config FILE]

Revokes an approved access grant (approvers, or the grantee giving it up); its open sessions are closed.
${CLIENT_USAGE}`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { ...CLIENT_FLAGS, reason: "string" });
    const id = positionals[0];
    if (!id) throw new CliError("access revoke needs a request ID", 2);
    if (typeof flags.reason !== "string" || !flags.reason.trim())
      throw new CliError("access revoke needs --reason TEXT", 2);
    const r = await apiClient(flags).call("POST", `/approvals/${encodeURIComponent(id)}/revoke`, {
      reason: flags.reason,
    });
    process.stdout.write(`${flags.json ? JSON.stringify(r, null, 2) : describeRequest(r)}\n`);
    return 0;
  },
};

export const accessCommands = [accessRequestCommand, accessListCommand, accessRevokeCommand];
