// `custos sessions play ID`: a session's terminal streams as asciicast v2, written out or replayed with
// asciinema. Kubernetes exec and attach sessions (stdin, stdout, stderr, resizes, exit status) today.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toAsciicast } from "../protocols/kubernetes/asciicast.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import { withStore } from "./store-access.ts";

const TERMINAL_KINDS = new Set(["stdout", "stderr", "stdin"]);

export const sessionsPlayCommand: CliCommand = {
  name: "sessions play",
  summary: "replay a session's terminal streams (asciicast v2)",
  usage: `usage: custos sessions play ID --config FILE [--out FILE.cast]

Turns the session's recorded terminal streams (Kubernetes exec and attach: stdout and stderr as output,
stdin as input, resizes, the exit status as a marker) into asciicast v2. With --out it writes the file;
otherwise it replays it with asciinema when a terminal is attached, or prints it.`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { config: "string", out: "string" });
    const id = positionals[0];
    if (!id) throw new CliError("sessions play needs a session ID", 2);
    return withStore(flags.config, async (store) => {
      const session = await store.getSession(id);
      if (!session) throw new CliError(`no session ${id}`);
      const frames = await store.sessionFrames(id);
      if (!frames.some((f) => TERMINAL_KINDS.has(f.kind)))
        throw new CliError(
          `session ${id} (${session.protocol ?? "unknown protocol"}) recorded no terminal streams`,
        );
      const cast = toAsciicast(frames, { title: `${session.subject} on ${session.connection} (${id})` });
      if (typeof flags.out === "string") {
        writeFileSync(flags.out, cast);
        return 0;
      }
      if (!process.stdout.isTTY) {
        process.stdout.write(cast);
        return 0;
      }
      const dir = mkdtempSync(join(tmpdir(), "custos-play-"));
      try {
        const file = join(dir, `${id}.cast`);
        writeFileSync(file, cast);
        const r = spawnSync("asciinema", ["play", file], { stdio: "inherit" });
        if (r.error) throw new CliError("asciinema is not installed: use --out FILE.cast");
        return r.status ?? 1;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
};
