// Drives the `opa` binary for authors and tests: compile a policy directory to a WASM bundle, run the
// Rego unit tests. The gateway itself never runs opa; it only loads the bundle.

import { mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { CustosError } from "../core/errors.ts";
import { PROJECT_ROOT } from "../project-files.ts";
import { ENTRYPOINT } from "./engine.ts";

export { PROJECT_ROOT };

export const DEFAULT_POLICY_DIR = join(PROJECT_ROOT, "policy");
export const DEFAULT_BUNDLE = join(PROJECT_ROOT, "policy/build/bundle.tar.gz");

let opaPath: string | undefined;

/** Path of the pinned opa, installing it (scripts/ensure-opa) on first use. */
export function ensureOpa(): string {
  if (opaPath) return opaPath;
  const proc = Bun.spawnSync(["sh", join(PROJECT_ROOT, "scripts/ensure-opa")], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const path = proc.stdout.toString().trim();
  if (proc.exitCode !== 0 || !path)
    throw new CustosError("policy.unavailable", "cannot install opa (scripts/ensure-opa failed)");
  opaPath = path;
  return path;
}

export interface OpaRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function opa(args: string[], cwd?: string): OpaRun {
  const proc = Bun.spawnSync([ensureOpa(), ...args], {
    stdout: "pipe",
    stderr: "pipe",
    ...(cwd ? { cwd } : {}),
  });
  return { exitCode: proc.exitCode ?? 1, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

/** Compiles DIR's Rego and data files into a WASM bundle at `output`; throws with opa's message on failure. */
export function buildBundle(dir: string = DEFAULT_POLICY_DIR, output: string = DEFAULT_BUNDLE): string {
  output = resolve(output);
  mkdirSync(dirname(output), { recursive: true });
  // Bundles live under policy/ (build/, dist/): keep them, and the Rego tests, out of the next one.
  // opa runs inside DIR so the sources are stored under relative paths: the same sources give the same
  // bundle in any checkout (the shipped bundle's test compares them).
  const run = opa(
    [
      "build",
      "-t",
      "wasm",
      "-e",
      ENTRYPOINT,
      "--ignore",
      "build",
      "--ignore",
      "*_test.rego",
      "-o",
      output,
      ".",
    ],
    resolve(dir),
  );
  if (run.exitCode !== 0) {
    throw new CustosError("policy.unavailable", `opa build failed: ${(run.stderr || run.stdout).trim()}`);
  }
  return output;
}

const IGNORED = ["--ignore", "build", "--ignore", "dist"];

/** Runs `opa test` on DIR (Rego unit tests beside the policies); with coverage, opa's JSON report. */
export function testPolicies(dir: string = DEFAULT_POLICY_DIR, verbose = false, coverage = false): OpaRun {
  return opa([
    "test",
    ...(verbose ? ["-v"] : []),
    ...(coverage ? ["--coverage", "--format", "json"] : []),
    ...IGNORED,
    dir,
  ]);
}

/** `opa check --strict`: unused variables and imports, deprecated built-ins, shadowing, as errors. */
export function checkPolicies(dir: string = DEFAULT_POLICY_DIR): OpaRun {
  return opa(["check", "--strict", ...IGNORED, dir]);
}

/** `opa fmt`: lists the files not in canonical form (`--list`), rewrites them, or prints the diff. */
export function formatPolicies(dir: string, mode: "list" | "write" | "diff"): OpaRun {
  const flag = mode === "list" ? "--list" : mode === "write" ? "--write" : "--diff";
  // opa fmt has no --ignore: give it the Rego files outside build/ and dist/.
  return opa(["fmt", flag, ...regoFiles(resolve(dir))]);
}

function regoFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "build" || entry.name === "dist") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...regoFiles(path));
    else if (entry.name.endsWith(".rego")) out.push(path);
  }
  return out.sort();
}

/** Newest modification time of the policy sources under DIR (the build directory excluded). */
export function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "build" || entry.name === "dist") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.(rego|json|ya?ml)$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}
