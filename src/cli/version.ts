// `custos version` (and `custos --version`): what this build is, for bug reports and fleet inventories.
import { buildInfo, versionText } from "../version.ts";
import { type CliCommand, parseFlags } from "./command.ts";

export const versionCommand: CliCommand = {
  name: "version",
  summary: "print the version, commit, build date and Bun version",
  usage: `usage: custos version [--json]

Prints the Custos version, the commit it was built from (+dirty when built with uncommitted changes), the
build date ("from source" when run from a checkout) and the Bun runtime. --json prints one JSON object.
The same facts are on /metrics as custos_build_info and in the first log record of \`custos serve\`.`,
  async run(argv) {
    const { flags } = parseFlags(argv, { json: "boolean" });
    const info = buildInfo();
    process.stdout.write(flags.json ? `${JSON.stringify(info)}\n` : versionText(info));
    return 0;
  },
};
