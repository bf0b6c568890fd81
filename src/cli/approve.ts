// `custos approve ID` and `custos deny ID`: an approver decides a held statement or an access request,
// through the running gateway's API (which checks the approver and writes the audit event).
import { apiClient, CLIENT_FLAGS, CLIENT_USAGE, describeRequest } from "./access-client.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";

function decideCommand(verdict: "approve" | "deny"): CliCommand {
  return {
    name: verdict,
    summary: `${verdict} a held statement or an access request`,
    usage: `usage: custos ${verdict} ID --reason TEXT [--token T] [--gateway URL | --config FILE] [--json]

${verdict === "approve" ? "Approves" : "Denies"} approval request ID as the identity of the token. The requester cannot decide its
own request; only members of the connection's approver groups can. The reason is recorded with the decision.
${CLIENT_USAGE}`,
    async run(argv) {
      const { flags, positionals } = parseFlags(argv, { ...CLIENT_FLAGS, reason: "string" });
      const id = positionals[0];
      if (!id) throw new CliError(`${verdict} needs a request ID`, 2);
      if (typeof flags.reason !== "string" || !flags.reason.trim())
        throw new CliError(`${verdict} needs --reason TEXT`, 2);
      const r = await apiClient(flags).call("POST", `/approvals/${encodeURIComponent(id)}/${verdict}`, {
        reason: flags.reason,
      });
      process.stdout.write(`${flags.json ? JSON.stringify(r, null, 2) : describeRequest(r)}\n`);
      return 0;
    },
  };
}

export const approveCommand = decideCommand("approve");
export const denyCommand = decideCommand("deny");
