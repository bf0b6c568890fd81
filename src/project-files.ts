// Where the files that ship with Custos are (migrations, the default policy bundle, the evidence verifier,
// the SQL parser's and the demo database's WASM): the checkout when run from source, or the executable's
// embedded file system when built by scripts/build-binary. Bun's compile `assets` puts each listed file or
// directory at /$bunfs/root/<its last name> (src/audit/migrations → /$bunfs/root/migrations/…), so a
// repository path is found there by its shortest suffix that exists.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

/** True inside a `bun build --compile` executable, whose modules live under /$bunfs/ (B:/~BUN/ on Windows). */
export const COMPILED = import.meta.dir.startsWith("/$bunfs/") || import.meta.dir.startsWith("B:/~BUN/");

export const PROJECT_ROOT = COMPILED ? "/$bunfs/root" : resolve(import.meta.dir, "..");

/** A shipped file by its path in the repository, e.g. "policy/dist/default-bundle.tar.gz". */
export function projectFile(path: string): string {
  if (!COMPILED) return join(PROJECT_ROOT, path);
  const parts = path.split("/");
  for (let i = 0; i < parts.length; i++) {
    const candidate = join(PROJECT_ROOT, ...parts.slice(i));
    if (existsSync(candidate)) return candidate;
  }
  return join(PROJECT_ROOT, path);
}
