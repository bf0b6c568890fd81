// The key that seals console session cookies: 32 random bytes in data_dir/console.key (0600), created on
// first start. Rotating it (deleting the file) signs everyone out, which is the point.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { readPrivateFile, writePrivateFileOnce } from "../../config/private-file.ts";
import { CustosError } from "../../core/errors.ts";

export function loadOrCreateConsoleKey(dataDir: string): Uint8Array {
  const path = join(dataDir, "console.key");
  let text = readPrivateFile(path);
  if (text === null) {
    writePrivateFileOnce(path, `${randomBytes(32).toString("base64")}\n`);
    text = readPrivateFile(path) ?? "";
  }
  const key = Buffer.from(text.trim(), "base64");
  if (key.length !== 32) throw new CustosError("config.invalid", `${path}: expected 32 base64 bytes`);
  return new Uint8Array(key);
}
