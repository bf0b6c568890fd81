// The HTTP gateway's k6 scenario lives in bench/http/ (owned by the HTTP gateway work). bench/run calls its
// runner when it exists and reports its output verbatim; otherwise it says so in one line.
import { CustosError } from "../../src/core/errors.ts";

export async function runHttpScenario(
  runner: string | null,
  quick: boolean,
  log: (s: string) => void,
): Promise<string> {
  if (!runner) return "skipped — bench/http/run is not present yet (the HTTP gateway scenario, issue 6).";
  log(`HTTP scenario: ${runner}`);
  const cmd = runner.endsWith(".ts") ? [process.execPath, runner] : [runner];
  const proc = Bun.spawn([...cmd, ...(quick ? ["--quick"] : [])], { stdout: "pipe", stderr: "inherit" });
  const killer = setTimeout(() => proc.kill("SIGKILL"), 10 * 60_000);
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  clearTimeout(killer);
  if (code !== 0) throw new CustosError("internal", `${runner} exited ${code}`);
  return `\n\n${out.trim()}`;
}
