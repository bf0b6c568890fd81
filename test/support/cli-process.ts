// Runs the `custos` command line as an operator would: a separate process, from a working directory of the
// test's choosing (an empty one, so nothing is found by accident), either from source or as the compiled
// binary. `serve`/`demo` processes are followed line by line on stderr/stdout until a pattern shows up.
import { join, resolve } from "node:path";

export const PROJECT_ROOT = resolve(import.meta.dir, "../..");

/** The command prefix that runs the CLI from source with this Bun. */
export const SOURCE_CLI = [process.execPath, join(PROJECT_ROOT, "src/cli/main.ts")];

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  cli: string[],
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): CliRun {
  const proc = Bun.spawnSync([...cli, ...args], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: opts.cwd, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
    timeout: opts.timeoutMs ?? 30_000,
  });
  return { exitCode: proc.exitCode ?? -1, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

export interface LongRunning {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Everything written so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the output once `pattern` appears on stdout or stderr; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then the exit status. */
  stop(): Promise<number>;
}

export function spawnCli(
  cli: string[],
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): LongRunning {
  const proc = Bun.spawn([...cli, ...args], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: opts.cwd, ...opts.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = { stdout: "", stderr: "" };
  const pump = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) out[key] += decoder.decode(chunk, { stream: true });
  };
  const pumped = Promise.all([pump(proc.stdout, "stdout"), pump(proc.stderr, "stderr")]);
  return {
    proc,
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    async waitFor(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const all = `${out.stdout}\n${out.stderr}`;
        if (pattern.test(all)) return all;
        if (proc.exitCode !== null) {
          await pumped;
          throw new Error(`exited ${proc.exitCode} before ${pattern}:\n${out.stdout}\n${out.stderr}`);
        }
        await Bun.sleep(50);
      }
      throw new Error(`timed out waiting for ${pattern}:\n${out.stdout}\n${out.stderr}`);
    },
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const code = await proc.exited;
      await pumped;
      return code;
    },
  };
}

/** The JSON log records a process wrote (non-JSON lines skipped). */
export function logRecords(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line));
    } catch {}
  }
  return out;
}
