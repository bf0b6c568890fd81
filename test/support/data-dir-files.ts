// Reads every file under a gateway's data_dir from a child process, for tests that look for secrets or
// fixture values in what the gateway stored. Never read a live SQLite store's files from the process that
// has it open: closing any descriptor of audit.db or audit.db-shm drops all of that process's POSIX locks on
// it, the next CLI then takes the store over and unlinks its -wal (src/audit/sqlite-wal-guard.ts).
import { type Dirent, readdirSync } from "node:fs";
import { join, relative } from "node:path";

// The child writes, per file: a 4-byte big-endian length, then the bytes (a vanished file: length 0).
const READER = `
const { readFileSync } = require("node:fs");
for (const p of process.argv.slice(1)) {
  let b = Buffer.alloc(0);
  try { b = readFileSync(p); } catch {}
  const n = Buffer.alloc(4);
  n.writeUInt32BE(b.length);
  process.stdout.write(n);
  process.stdout.write(b);
}`;

/** [path relative to dir, contents] for every regular file under dir (recursive), read out of process. */
export function dataDirFiles(dir: string): [string, Buffer][] {
  const paths = (readdirSync(dir, { withFileTypes: true, recursive: true }) as Dirent[])
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
  if (paths.length === 0) return [];
  const r = Bun.spawnSync([process.execPath, "-e", READER, ...paths], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`reading ${dir} out of process failed: ${r.stderr.toString()}`);
  const out: [string, Buffer][] = [];
  const bytes = Buffer.from(r.stdout);
  let at = 0;
  for (const p of paths) {
    if (at + 4 > bytes.length) throw new Error(`reading ${dir} out of process: output cut short at ${p}`);
    const n = bytes.readUInt32BE(at);
    out.push([relative(dir, p), bytes.subarray(at + 4, at + 4 + n)]);
    at += 4 + n;
  }
  return out;
}

/** Every file under dir whose name passes `keep`, concatenated (for "no canary anywhere" checks). */
export function dataDirBytes(dir: string, keep: (name: string) => boolean = () => true): Buffer {
  return Buffer.concat(
    dataDirFiles(dir)
      .filter(([name]) => keep(name.split("/").at(-1) ?? name))
      .map(([, b]) => b),
  );
}
