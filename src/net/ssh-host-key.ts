// Where the gateway's own SSH host key lives in data_dir, and its public half as the SSH listener
// presents it: the SSH protocol creates the key (protocols/ssh/host-key.ts), MCP's exec tool pins it when
// it dials that listener on loopback, so the caller's token is only ever offered to this gateway.
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const HOST_KEY_FILE = "ssh_host_ed25519_key";

/** The private key file's path; its public half is the same path with `.pub` (OpenSSH's layout). */
export function hostKeyPath(dataDir: string): string {
  return join(dataDir, HOST_KEY_FILE);
}

/** The host key's public blob (the base64 field of its .pub file, decoded): what the listener presents. */
export function readHostPublicKey(dataDir: string): Buffer {
  const pub = readFileSync(`${hostKeyPath(dataDir)}.pub`, "utf8")
    .trim()
    .split(/\s+/)[1];
  if (!pub) throw new Error("the gateway's SSH host key is unreadable");
  return Buffer.from(pub, "base64");
}
