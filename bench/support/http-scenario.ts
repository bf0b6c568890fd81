// The HTTP gateway's k6 scenario lives in bench/http/ (owned by the HTTP gateway work): bench/run calls its
// runner (`bun bench/http/run.ts SECONDS ROUNDS`) when it exists and reports its output verbatim; a missing
// runner or a failed run is one line in the report, not the end of the whole benchmark.

export async function runHttpScenario(
  runner: string | null,
  seconds: number,
  rounds: number,
  log: (s: string) => void,
): Promise<string> {
  if (!runner) return "skipped — bench/http/run.ts is not present (the HTTP gateway scenario, issue 6).";
  const cmd = runner.endsWith(".ts") ? [process.execPath, runner] : [runner];
  // Both modes, --quick too: issue 23 has a goal on each (maximum throughput, and p99 at a fixed rate).
  const args = [String(seconds), String(rounds)];
  log(`HTTP scenario: ${[...cmd, ...args].join(" ")}`);
  const proc = Bun.spawn([...cmd, ...args], { stdout: "pipe", stderr: "pipe" });
  // Bounded: k6 runs 2 modes x 4 targets x rounds x seconds, plus set-up; anything far beyond is stuck.
  const killer = setTimeout(() => proc.kill("SIGKILL"), (8 * rounds * seconds + 300) * 1000);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(killer);
  if (code !== 0) {
    const last = err.trim().split("\n").filter(Boolean).slice(-3).join(" ").slice(0, 300);
    return `**failed** — \`bun bench/http/run.ts ${args.join(" ")}\` exited ${code}: ${last}`;
  }
  return `\`bun bench/http/run.ts ${args.join(" ")}\` (k6; direct, a bare Bun relay and Custos as a human and as an agent, alternating):\n\n${out.trim()}`;
}
