// Resolves a validated `type: ssh` connection: exactly one credential (a private key from a file or the
// environment, or a password), and the target's host keys pinned from `host_key` or the target's entries
// in `known_hosts_file` (hashed `|1|` entries included). A target without a pinned key is refused here:
// an unknown host key is never trusted on first use.
import { createHmac } from "node:crypto";
import { resolve } from "node:path";
import type { RawCommonConnection } from "./connection-keys.ts";
import type { ProtocolLoadContext } from "./protocol-configs.ts";
import type { Secret } from "./secret.ts";
import type { RawSshConnection } from "./ssh-schema.ts";
import type { ProtocolConnectionConfig } from "./types.ts";

export interface PinnedHostKey {
  /** The key's algorithm name (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`). */
  type: string;
  /** The public key blob (RFC 4253 §6.6), as the server sends it in KEXDH_REPLY. */
  blob: Uint8Array;
}

export interface SshTargetConfig {
  host: string;
  port: number;
  user: string;
  auth: { kind: "key"; privateKey: Secret } | { kind: "password"; password: Secret };
  hostKeys: PinnedHostKey[];
  /** Bytes of each transfer's content kept in the recording. */
  recordContent: number;
}

export function resolveSshConnection(
  raw: RawSshConnection,
  at: string,
  ctx: ProtocolLoadContext,
): ProtocolConnectionConfig<SshTargetConfig> {
  const t = raw.target;
  const ta = `${at}.target`;
  const given = (["private_key_file", "private_key_env", "password_env", "password_file"] as const).filter(
    (k) => t[k] !== undefined,
  );
  if (given.length !== 1) {
    throw ctx.fail(ta, "give exactly one of private_key_file, private_key_env, password_env, password_file");
  }
  const which = given[0]!;
  const secret =
    which === "private_key_env" || which === "password_env"
      ? ctx.fromEnv(t[which]!, `${ta}.${which}`)
      : ctx.fromFile(t[which]!, `${ta}.${which}`);
  const auth = which.startsWith("private_key")
    ? { kind: "key" as const, privateKey: secret }
    : { kind: "password" as const, password: secret };
  if ((t.host_key === undefined) === (t.known_hosts_file === undefined)) {
    throw ctx.fail(ta, "give exactly one of host_key and known_hosts_file (the target's key is pinned)");
  }
  let hostKeys: PinnedHostKey[];
  if (t.host_key !== undefined) {
    const k = parseKeyLine(t.host_key);
    if (!k) throw ctx.fail(`${ta}.host_key`, 'expected "<type> <base64 key>", as in a .pub file');
    hostKeys = [k];
  } else {
    const file = resolve(ctx.baseDir, t.known_hosts_file!);
    hostKeys = knownHostsFor(ctx.readText(file, `${ta}.known_hosts_file`), t.host, t.port);
    if (hostKeys.length === 0)
      throw ctx.fail(`${ta}.known_hosts_file`, `${file} holds no key for ${hostField(t.host, t.port)}`);
  }
  const common: RawCommonConnection = raw;
  return {
    ...ctx.common(common, at),
    type: "ssh",
    target: { host: t.host, port: t.port, user: t.user, auth, hostKeys, recordContent: raw.record_content },
    targetAccount: { user: t.user, database: `${t.host}:${t.port}` },
  };
}

/** `type base64 [comment]` → the key, or null when it is not one. */
export function parseKeyLine(line: string): PinnedHostKey | null {
  const [type, b64] = line.trim().split(/\s+/);
  if (!type || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null;
  const blob = new Uint8Array(Buffer.from(b64, "base64"));
  // The blob starts with its own type name (RFC 4253 §6.6: string "ssh-ed25519", …).
  if (blob.length < 4) return null;
  const n = new DataView(blob.buffer, blob.byteOffset).getUint32(0);
  if (4 + n > blob.length || Buffer.from(blob.subarray(4, 4 + n)).toString("latin1") !== type) return null;
  return { type, blob };
}

/** The host field known_hosts uses: `host` for port 22, else `[host]:port` (sshd(8) SSH_KNOWN_HOSTS). */
function hostField(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function knownHostsFor(text: string, host: string, port: number): PinnedHostKey[] {
  const want = hostField(host, port);
  const keys: PinnedHostKey[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    // Markers (@cert-authority, @revoked) are not plain host keys: skipped.
    if (line.startsWith("@")) continue;
    const sp = line.search(/\s/);
    if (sp < 0) continue;
    const hosts = line.slice(0, sp);
    if (!hosts.split(",").some((h) => hostMatches(h, want))) continue;
    const key = parseKeyLine(line.slice(sp));
    if (key) keys.push(key);
  }
  return keys;
}

function hostMatches(pattern: string, want: string): boolean {
  if (pattern.startsWith("|1|")) {
    // Hashed: |1|base64(salt)|base64(HMAC-SHA1(salt, host)).
    const [, , salt, hash] = pattern.split("|");
    if (!salt || !hash) return false;
    const mac = createHmac("sha1", Buffer.from(salt, "base64")).update(want).digest("base64");
    return mac === hash;
  }
  return pattern === want;
}
