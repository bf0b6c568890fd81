// What a result is tied to: the date, the machine (cores, memory, CPU model, load) and the commit.
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";

export interface MachineInfo {
  date: string;
  nproc: number;
  memoryGb: number;
  cpuModel: string;
  kernel: string;
  bun: string;
  commit: string;
  dirty: boolean;
  /** 1-minute load average when sampled. */
  load1: number;
}

function git(args: string[], cwd: string): string {
  const p = Bun.spawnSync(["git", ...args], { cwd, stdout: "pipe", stderr: "ignore" });
  return p.exitCode === 0 ? p.stdout.toString().trim() : "unknown";
}

export function machineInfo(root: string): MachineInfo {
  let kernel = "unknown";
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  } catch {}
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    nproc: cpus().length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    kernel,
    bun: Bun.version,
    commit: git(["rev-parse", "--short=12", "HEAD"], root),
    // Only src/ matters for what was measured; others' uncommitted work elsewhere is not ours to report.
    dirty: git(["status", "--porcelain", "--", "src"], root) !== "",
    load1: Math.round(loadavg()[0]! * 100) / 100,
  };
}

export const load1 = () => Math.round(loadavg()[0]! * 100) / 100;
