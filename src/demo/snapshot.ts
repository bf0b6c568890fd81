// A cached dump of the freshly loaded demo data directory. initdb inside PGlite costs ~3-4 s and ~900 MB of
// peak RSS on a 2-core box; restoring this tarball costs ~0.3 s. The key changes with the fixture and PGlite.
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { COMPILED, projectFile } from "../project-files.ts";

/** Where scripts/build-binary embeds the snapshot (its directory is a compile asset of that name). */
export const EMBEDDED_SNAPSHOT_DIR = "demo-snapshot";

// Pinned in package.json; a dump from another PGlite build fails to load and is simply rebuilt.
const PGLITE_BUILD = "pglite-0.5.16";

export function snapshotPath(dir: string, fixtureSql: string): string {
  const key = createHash("sha256")
    .update(PGLITE_BUILD)
    .update("\0")
    .update(fixtureSql)
    .digest("hex")
    .slice(0, 16);
  return join(dir, `custos-demo-${key}.tar.gz`);
}

export async function readSnapshot(path: string): Promise<Blob | undefined> {
  const file = Bun.file(path);
  return (await file.exists()) ? file : undefined;
}

/** The executable's embedded snapshot of the same key, if it carries one. */
export async function embeddedSnapshot(path: string): Promise<Blob | undefined> {
  if (!COMPILED) return undefined;
  return readSnapshot(projectFile(`${EMBEDDED_SNAPSHOT_DIR}/${basename(path)}`));
}

/** Written beside the target and renamed, so a crash never leaves a half snapshot under the real name. */
export async function writeSnapshot(db: PGlite, path: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dump = await db.dumpDataDir("gzip");
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, new Uint8Array(await dump.arrayBuffer()), { mode: 0o600 });
  renameSync(tmp, path);
}
