// The linux-arm64 executable, cross-built by scripts/build-binary on this (x64) machine, run under
// qemu-user with Debian's aarch64 C library: `version` and `--help` from an empty directory. Skips, saying
// why, only when qemu or that library is absent (scripts/setup-test-deps installs both).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT, runCli } from "../support/cli-process.ts";

const AARCH64_ROOT = "/usr/aarch64-linux-gnu";
const qemu =
  process.arch === "arm64" ? null : (Bun.which("qemu-aarch64-static") ?? Bun.which("qemu-aarch64"));
const native = process.arch === "arm64";
const reason = native
  ? null
  : !qemu
    ? "qemu-user is not installed (scripts/setup-test-deps installs qemu-user-static)"
    : !existsSync(join(AARCH64_ROOT, "lib/ld-linux-aarch64.so.1"))
      ? `no aarch64 C library under ${AARCH64_ROOT} (scripts/setup-test-deps installs libc6-arm64-cross)`
      : null;
if (reason) console.warn(`arm64.test: skipped: ${reason}`);

let dist: string;
let cli: string[];

beforeAll(() => {
  if (reason) return;
  dist = mkdtempSync(join(tmpdir(), "custos-arm64-"));
  const build = Bun.spawnSync([join(PROJECT_ROOT, "scripts/build-binary"), "linux-arm64"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, CUSTOS_DIST: dist },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (build.exitCode !== 0)
    throw new Error(`scripts/build-binary linux-arm64 failed: ${build.stderr.toString()}`);
  const binary = join(dist, "custos-linux-arm64");
  cli = native ? [binary] : [qemu!, "-L", AARCH64_ROOT, binary];
}, 300_000);

afterAll(() => {
  if (dist) rmSync(dist, { recursive: true, force: true });
});

describe.skipIf(reason !== null)("the arm64 executable", () => {
  test("is an aarch64 ELF", () => {
    const head = readFileSync(join(dist, "custos-linux-arm64")).subarray(0, 20);
    expect([...head.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect(head.readUInt16LE(18)).toBe(183); // e_machine EM_AARCH64
  });

  test("version and --version run and name the build", () => {
    const cwd = join(dist, "runs", "version");
    mkdirSync(cwd, { recursive: true });
    for (const args of [["version"], ["--version"]]) {
      const r = runCli(cli, args, { cwd, timeoutMs: 180_000 });
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/^custos \d+\.\d+\.\d+\ncommit [0-9a-f]{40}/);
      expect(r.stdout).toContain(`bun ${Bun.version}`);
    }
  }, 400_000);

  test("--help lists the commands", () => {
    const cwd = join(dist, "runs", "help");
    mkdirSync(cwd, { recursive: true });
    const r = runCli(cli, ["--help"], { cwd, timeoutMs: 180_000 });
    expect(r.exitCode).toBe(0);
    for (const command of ["serve", "audit verify", "migrate", "version"])
      expect(r.stdout).toContain(command);
  }, 200_000);
});
