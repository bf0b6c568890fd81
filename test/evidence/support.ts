// Runs both evidence verifiers on a bundle: `custos evidence verify` (TypeScript, in a child process
// through the CLI) and the bundle's own verify.py (Python 3), each with --json.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readTarGz, writeTarGz } from "../../src/audit/evidence/tar.ts";

const ROOT = join(import.meta.dir, "..", "..");

export interface VerifierResult {
  code: number;
  ok: boolean;
  failures: { code: string; where: string; reason: string }[];
  counts: Record<string, number>;
}

async function run(cmd: string[]): Promise<VerifierResult> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", cwd: ROOT });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  let parsed: VerifierResult;
  try {
    parsed = JSON.parse(out);
  } catch {
    throw new Error(`${cmd.join(" ")} printed no JSON (exit ${code}): ${out}${err}`);
  }
  return { ...parsed, code };
}

export function verifyTs(bundle: string, publicKey?: string): Promise<VerifierResult> {
  return run([
    join(ROOT, "custos"),
    "evidence",
    "verify",
    bundle,
    "--json",
    ...(publicKey ? ["--public-key", publicKey] : []),
  ]);
}

/** The verify.py taken from a bundle (the auditor keeps the copy of the intact bundle), run on `bundle`. */
export function verifyPy(verifier: Uint8Array, bundle: string, publicKey?: string): Promise<VerifierResult> {
  const dir = mkdtempSync(join(tmpdir(), "custos-verify-py-"));
  const script = join(dir, "verify.py");
  writeFileSync(script, verifier);
  return run(["python3", script, bundle, "--json", ...(publicKey ? ["--public-key", publicKey] : [])]);
}

/** Failure codes with where they were found, sorted: what both verifiers must agree on. */
export const named = (r: VerifierResult) => r.failures.map((f) => `${f.code} ${f.where}`).sort();

/** Rewrites a bundle with `edit` applied to its files; returns the path of the tampered copy. */
export function tamper(
  original: Uint8Array,
  edit: (files: Map<string, Uint8Array>) => void,
  name: string,
): string {
  const files = readTarGz(original);
  edit(files);
  const path = join(mkdtempSync(join(tmpdir(), "custos-tamper-")), `${name}.tar.gz`);
  writeFileSync(path, writeTarGz(files, "evidence", Date.now(), new Set(["verify.py"])));
  return path;
}
