// What this build is: version, commit, build date and the Bun it runs on. scripts/build-binary stamps the
// compiled binary with --define; from a checkout the commit is asked of git once, and the date is null.
import { resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };

// Replaced by `bun build --define` in scripts/build-binary; undeclared (typeof "undefined") from source.
declare const CUSTOS_BUILD_COMMIT: string;
declare const CUSTOS_BUILD_DATE: string;

export interface BuildInfo {
  version: string;
  /** Full commit hash; "unknown" outside a git checkout. A "+dirty" suffix marks uncommitted changes. */
  commit: string;
  /** ISO-8601 time the binary was built; null when running from source. */
  buildDate: string | null;
  bun: string;
  /** True in a `bun build --compile` executable. */
  compiled: boolean;
}

export const VERSION: string = pkg.version;

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  cached ??= {
    version: VERSION,
    commit: typeof CUSTOS_BUILD_COMMIT === "string" ? CUSTOS_BUILD_COMMIT : sourceCommit(),
    buildDate: typeof CUSTOS_BUILD_DATE === "string" ? CUSTOS_BUILD_DATE : null,
    bun: Bun.version,
    compiled: typeof CUSTOS_BUILD_COMMIT === "string",
  };
  return cached;
}

function sourceCommit(): string {
  const root = resolve(import.meta.dir, "..");
  try {
    const head = Bun.spawnSync(["git", "-C", root, "rev-parse", "HEAD"], {
      stdout: "pipe",
      stderr: "ignore",
    });
    if (head.exitCode !== 0) return "unknown";
    const dirty = Bun.spawnSync(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"], {
      stdout: "pipe",
      stderr: "ignore",
    });
    return `${head.stdout.toString().trim()}${dirty.stdout.toString().trim() ? "+dirty" : ""}`;
  } catch {
    return "unknown";
  }
}

/** `custos version`'s text. */
export function versionText(info: BuildInfo = buildInfo()): string {
  return [
    `custos ${info.version}`,
    `commit ${info.commit}`,
    `built ${info.buildDate ?? "from source"}`,
    `bun ${info.bun}`,
    "",
  ].join("\n");
}
