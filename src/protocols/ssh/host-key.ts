// The gateway's own SSH host key, kept in data_dir (mode 0600) and created on first start, so clients can
// pin it (`custos ssh ca` prints it for known_hosts).
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import ssh2 from "ssh2";
import { hostKeyPath } from "../../net/ssh-host-key.ts";
import { generateEd25519 } from "./keygen.ts";

export function loadOrCreateHostKey(dataDir: string): { privateKey: string; publicKey: string } {
  const file = hostKeyPath(dataDir);
  if (!existsSync(file)) {
    const pair = generateEd25519("custos gateway host key");
    writeFileSync(file, pair.private, { mode: 0o600 });
    writeFileSync(`${file}.pub`, `${pair.public}\n`, { mode: 0o644 });
  }
  chmodSync(file, 0o600);
  const privateKey = readFileSync(file, "utf8");
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  return { privateKey, publicKey: `${key.type} ${key.getPublicSSH().toString("base64")}` };
}
