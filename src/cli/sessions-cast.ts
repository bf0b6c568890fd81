// `custos sessions play ID` and `custos sessions export ID --format cast`: a terminal session's recording
// (SSH shells and exec, any protocol recording term.* frames; recording/asciicast.ts) replayed in this
// terminal at real time or faster from any point, or written as an asciicast v2 file asciinema plays.
import { writeFileSync } from "node:fs";
import type { AuditStore } from "../audit/store.ts";
import { terminalFramesOf } from "../protocols/terminal-frames.ts";
import { type Cast, castFromFrames, encodeCast, playCast } from "../recording/asciicast.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import { withStore } from "./store-access.ts";

async function castOf(store: AuditStore, id: string): Promise<Cast> {
  const session = await store.getSession(id);
  if (!session) throw new CliError(`no session ${id}`);
  const cast = castFromFrames(
    terminalFramesOf(session.protocol, await store.sessionFrames(id)),
    `custos session ${id} (${session.subject ?? "?"} on ${session.connection ?? "?"})`,
  );
  if (!cast)
    throw new CliError(
      `session ${id} recorded no terminal (its protocol is ${session.protocol ?? "unknown"}): see custos sessions show`,
    );
  return cast;
}

function positiveNumber(v: unknown, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`${flag} expects a non-negative number`, 2);
  return n;
}

export const sessionsPlayCommand: CliCommand = {
  name: "sessions play",
  summary: "replay a terminal session (SSH, Kubernetes exec) in this terminal",
  usage: `usage: custos sessions play ID --config FILE [--speed N] [--from SECONDS] [--max-idle SECONDS]

Replays what the client's terminal showed, with its timing: --speed 2 plays twice as fast (0 prints at
once), --from starts that many seconds in (earlier output is written at once), --max-idle caps pauses
(default 2 s).`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, {
      config: "string",
      speed: "string",
      from: "string",
      "max-idle": "string",
    });
    const id = positionals[0];
    if (!id) throw new CliError("sessions play needs a session ID", 2);
    const speed = positiveNumber(flags.speed, "--speed", 1);
    return withStore(flags.config, async (store) => {
      const cast = await castOf(store, id);
      await playCast(cast, {
        speed: speed === 0 ? Number.POSITIVE_INFINITY : speed,
        from: positiveNumber(flags.from, "--from", 0),
        maxIdle: positiveNumber(flags["max-idle"], "--max-idle", 2),
        write: (s) => void process.stdout.write(s),
        sleep: (ms) => Bun.sleep(ms),
      });
      return 0;
    });
  },
};

export const sessionsExportCommand: CliCommand = {
  name: "sessions export",
  summary: "write a terminal session as an asciicast v2 file",
  usage: `usage: custos sessions export ID --config FILE --format cast [--out FILE]

Writes the session's terminal recording (output, input, window changes, command and exit markers, with
times) as asciicast v2, to FILE or standard output; \`asciinema play FILE\` replays it.`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, { config: "string", format: "string", out: "string" });
    const id = positionals[0];
    if (!id) throw new CliError("sessions export needs a session ID", 2);
    if (flags.format !== "cast") throw new CliError("sessions export needs --format cast", 2);
    return withStore(flags.config, async (store) => {
      const text = encodeCast(await castOf(store, id));
      if (typeof flags.out === "string") writeFileSync(flags.out, text, { mode: 0o600 });
      else process.stdout.write(text);
      return 0;
    });
  },
};
