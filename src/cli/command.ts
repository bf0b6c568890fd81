// Every CLI command is one file exporting a `CliCommand`; src/cli/main.ts dispatches on the first words.

export interface CliCommand {
  /** Words that select the command, e.g. "token issue" or "serve". */
  name: string;
  summary: string;
  /** Full help text printed for --help. */
  usage: string;
  /** Returns the exit code. Failures print one clear line on stderr (throw CliError for that). */
  run(argv: string[]): Promise<number>;
}

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Minimal flag parser: --name value, --name=value, --flag (boolean); the rest are positionals. */
export function parseFlags(
  argv: string[],
  spec: Record<string, "string" | "boolean">,
): { flags: Record<string, string | boolean | undefined>; positionals: string[] } {
  const flags: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new CliError(`unknown option --${name}`, 2);
    if (kind === "boolean") {
      flags[name] = true;
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new CliError(`option --${name} needs a value`, 2);
    flags[name] = value;
  }
  return { flags, positionals };
}
