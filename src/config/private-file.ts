// Files that hold private keys (gateway key, self-signed TLS key): created atomically with mode 0600, and
// refused when group or others can read them, because whoever reads one can impersonate the gateway.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { CustosError } from "../core/errors.ts";

/** Reads a private file; null if it does not exist; config.invalid if its mode lets others read it. */
export function readPrivateFile(path: string): string | null {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    throw new CustosError("config.invalid", `${path}: cannot read key file (${code ?? "error"})`);
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(3, "0");
    throw new CustosError(
      "config.invalid",
      `${path}: key file is readable by group or others (mode ${octal}); run: chmod 600 ${path}`,
    );
  }
  return readFileSync(path, "utf8");
}

/**
 * Writes a new 0600 file atomically: temp file, fsync, then link(2), which fails if the target exists, so
 * two gateways starting at once never overwrite each other's key. Returns false if the file already existed.
 */
export function writePrivateFileOnce(path: string, text: string): boolean {
  const tmp = writeTemp(path, text);
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/** Replaces a private file atomically (temp file, fsync, rename): readers see the old or the new text. */
export function replacePrivateFile(path: string, text: string): void {
  renameSync(writeTemp(path, text), path);
}

function writeTemp(path: string, text: string): string {
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return tmp;
}
