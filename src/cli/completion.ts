// `custos completion bash|zsh`: a shell completion script made from the command table itself (words, then
// each command's flags as its usage names them), so it never drifts from the CLI.
import type { CliCommand } from "./command.ts";
import { CliError } from "./command.ts";

/** Command words to the flags their usage text shows (`--config`, `--json`, …). */
export function completionTable(commands: CliCommand[]): Map<string, string[]> {
  const table = new Map<string, string[]>();
  for (const c of commands) {
    const flags = [...new Set([...c.usage.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]))].sort();
    table.set(c.name, flags);
  }
  return table;
}

export function bashCompletion(commands: CliCommand[]): string {
  const table = completionTable(commands);
  const firsts = [...new Set(commands.map((c) => c.name.split(" ")[0]!))].sort();
  const cases = [...table].map(([name, flags]) => `    "${name}") flags="${flags.join(" ")}" ;;`).join("\n");
  const seconds = firsts
    .map((w) => {
      const subs = commands.filter((c) => c.name.startsWith(`${w} `)).map((c) => c.name.split(" ")[1]);
      return subs.length ? `    ${w}) subs="${subs.join(" ")}" ;;` : null;
    })
    .filter(Boolean)
    .join("\n");
  return `# bash completion for custos: eval "$(custos completion bash)"
_custos() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" subs="" flags=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${firsts.join(" ")} completion" -- "$cur")); return
  fi
  case "\${COMP_WORDS[1]}" in
${seconds}
  esac
  if [ "$COMP_CWORD" -eq 2 ] && [ -n "$subs" ]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur")); return
  fi
  local cmd="\${COMP_WORDS[1]}"
  [ -n "$subs" ] && cmd="\${COMP_WORDS[1]} \${COMP_WORDS[2]}"
  case "$cmd" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$flags" -- "$cur"));
  else COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -o filenames -F _custos custos
`;
}

export function zshCompletion(commands: CliCommand[]): string {
  // zsh runs the bash function through bashcompinit: one definition for both shells.
  return `#compdef custos
# zsh completion for custos: eval "$(custos completion zsh)"
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(commands).split("\n").slice(1).join("\n")}`;
}

export function completionCommand(commands: () => CliCommand[]): CliCommand {
  return {
    name: "completion",
    summary: "print a bash or zsh completion script",
    usage: `usage: custos completion bash|zsh

Prints a completion script for the shell: command words, then each command's flags, then file names.
  bash:  eval "$(./custos completion bash)"    (or save it under /etc/bash_completion.d/)
  zsh:   eval "$(./custos completion zsh)"`,
    async run(argv) {
      const shell = argv[0];
      if (shell === "bash") process.stdout.write(bashCompletion(commands()));
      else if (shell === "zsh") process.stdout.write(zshCompletion(commands()));
      else throw new CliError("completion needs a shell: bash or zsh", 2);
      return 0;
    },
  };
}
