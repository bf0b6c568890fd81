// The key behind the `hash` masking method. Configured (masking.hmac_key_env / _file) or created once in
// data_dir, so masked values stay stable across restarts (joins and grouping on them keep working) and
// differ between deployments (a masked value cannot be looked up in another gateway's output).
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { readPrivateFile, writePrivateFileOnce } from "../config/private-file.ts";
import type { Secret } from "../config/secret.ts";

export const HMAC_KEY_FILE = "masking-hmac.key";

export function loadOrCreateHmacKey(configured: Secret | null, dataDir: string): string {
  if (configured) return configured.reveal();
  const path = join(dataDir, HMAC_KEY_FILE);
  const existing = readPrivateFile(path);
  if (existing !== null) return existing.trim();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  writePrivateFileOnce(path, `${randomBytes(32).toString("base64url")}\n`);
  return (readPrivateFile(path) ?? "").trim();
}
