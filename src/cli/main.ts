// The `custos` command line: dispatches on the first words to one file per command.
import { CustosError } from "../core/errors.ts";
import { accessCommands } from "./access.ts";
import { approveCommand } from "./approve.ts";
import { auditExportKeyCommand } from "./audit-export-key.ts";
import { auditProveCommand } from "./audit-prove.ts";
import { auditPruneCommand } from "./audit-prune.ts";
import { auditVerifyCommand } from "./audit-verify.ts";
import { awsCredentialsCommand } from "./aws-credentials.ts";
import { type CliCommand, CliError } from "./command.ts";
import { completionCommand } from "./completion.ts";
import { connectionsClassifyCommand } from "./connections-classify.ts";
import { consoleLinkCommand } from "./console-link.ts";
import { demoCommand } from "./demo.ts";
import { denyCommand } from "./deny.ts";
import { evidenceExportCommand } from "./evidence-export.ts";
import { evidenceVerifyCommand } from "./evidence-verify.ts";
import { healthcheckCommand } from "./healthcheck.ts";
import { kubeconfigCommand, kubeTokenCommand } from "./kubeconfig.ts";
import { migrateCommand } from "./migrate.ts";
import { policyCommands } from "./policy.ts";
import { serveCommand } from "./serve.ts";
import { sessionsListCommand, sessionsShowCommand } from "./sessions.ts";
import { sessionsExportCommand, sessionsPlayCommand } from "./sessions-cast.ts";
import { sshCaCommand, sshLoginCommand } from "./ssh.ts";
import { sshRevokeCommand } from "./ssh-revoke.ts";
import { tokenIssueCommand } from "./token-issue.ts";
import { versionCommand } from "./version.ts";

const commands: CliCommand[] = [
  serveCommand,
  demoCommand,
  tokenIssueCommand,
  kubeconfigCommand,
  kubeTokenCommand,
  sessionsListCommand,
  sessionsShowCommand,
  sessionsPlayCommand,
  sessionsExportCommand,
  auditVerifyCommand,
  connectionsClassifyCommand,
  consoleLinkCommand,
  auditProveCommand,
  auditExportKeyCommand,
  auditPruneCommand,
  migrateCommand,
  evidenceExportCommand,
  evidenceVerifyCommand,
  ...policyCommands,
  ...accessCommands,
  approveCommand,
  denyCommand,
  versionCommand,
  healthcheckCommand,
  awsCredentialsCommand,
  sshCaCommand,
  sshLoginCommand,
  sshRevokeCommand,
  completionCommand(() => commands),
];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "usage: custos <command> [options]    (custos <command> --help for details)",
    "",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    process.stdout.write(overview());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === "--version" || argv[0] === "-V") return versionCommand.run(argv.slice(1));
  // Longest match first: "token issue" before a hypothetical "token".
  const match = [...commands]
    .sort((a, b) => b.name.length - a.name.length)
    .find((c) => {
      const words = c.name.split(" ");
      return words.every((w, i) => argv[i] === w);
    });
  if (!match) {
    // A group word alone (`custos sessions`): its subcommands.
    const group = commands.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length > 0 && (argv.length === 1 || argv[1]?.startsWith("-"))) {
      const width = Math.max(...group.map((c) => c.name.length));
      process.stdout.write(
        [
          `usage: custos ${argv[0]} <subcommand> [options]    (custos ${argv[0]} <subcommand> --help for details)`,
          "",
          ...group.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
          "",
        ].join("\n"),
      );
      return argv.includes("--help") || argv.includes("-h") ? 0 : 2;
    }
    process.stderr.write(`custos: unknown command "${argv.slice(0, 2).join(" ")}"\n${overview()}`);
    return 2;
  }
  const rest = argv.slice(match.name.split(" ").length);
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(`${match.usage.trimEnd()}\n`);
    return 0;
  }
  return match.run(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  // One clear line, never a stack trace, for every failure a user can cause.
  const message =
    err instanceof CliError || err instanceof CustosError
      ? err.message
      : err instanceof Error
        ? err.message
        : String(err);
  process.stderr.write(`custos: ${message}\n`);
  // Exit now: a start-up that failed half way (one listener bound, the recorder's worker running) must not
  // leave a process that systemd or Kubernetes sees as alive while it serves nothing.
  process.exit(err instanceof CliError ? err.exitCode : 1);
}
