// Caller credentials and their gateway sessions. `custos aws credentials` asks the gateway to mint an
// access key for a connection with the caller's identity token: the gateway opens a session (identity
// checked, connection allowed, session.start recorded), names it with a fresh access key id, and hands back
// the secret derived by HMAC from its own key and the key id. Nothing secret is stored: the key id maps to
// the session, and the secret is re-derived to verify each request. The token stays in memory only, so an
// idle-closed session can be reopened (identity checked again) while the credential lives.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CustosError } from "../../core/errors.ts";
import type { Gateway, GatewaySession, SessionStats } from "../../core/session.ts";
import { MultipartBindings } from "./multipart.ts";
import type { AwsTarget } from "./target.ts";

export interface MintedCredential {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  Expiration: string;
}

interface Entry {
  keyId: string;
  connection: string;
  token: string;
  clientAddr: string;
  expiresAt: number;
  session: GatewaySession<AwsTarget> | null;
  opening: Promise<GatewaySession<AwsTarget> | CustosError> | null;
  stats: SessionStats;
  inflight: number;
  lastUsed: number;
  startedAt: number;
  terminated: boolean;
  /** Multipart uploads this credential's session created and had allowed. */
  uploads: MultipartBindings;
}

const KEY_FILE = "aws-credentials.key";
const REUSE_MARGIN_MS = 60_000;
const EXPIRED_KEPT_MS = 15 * 60_000;
// RFC 4648 base32 alphabet: upper-case letters and digits, like AWS's own key ids.
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** The gateway's key for deriving caller secrets, created (0600) in data_dir on first use. */
export function credentialKey(dataDir: string): Buffer {
  const file = join(dataDir, KEY_FILE);
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, "utf8").trim(), "hex");
    if (key.length !== 32) throw new CustosError("internal", `${file} does not hold a 32-byte hex key`);
    return key;
  }
  const key = randomBytes(32);
  writeFileSync(file, `${key.toString("hex")}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}

export function newKeyId(): string {
  const bytes = randomBytes(10);
  let bits = 0;
  let value = 0;
  let out = "";
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  // 4 + 16 characters: the length of an AWS access key id; the prefix says who minted it.
  return `CSTS${out}`;
}

export function deriveSecret(key: Uint8Array, keyId: string): string {
  return createHmac("sha256", key).update(`custos-aws-secret\u0000${keyId}`).digest("base64url").slice(0, 40);
}

export class CredentialRegistry {
  private readonly entries = new Map<string, Entry>();
  /** connection + token digest → key id: a CLI that runs credential_process per command reuses one session. */
  private readonly byToken = new Map<string, string>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(
    private readonly gateway: Gateway,
    private readonly key: Uint8Array,
    private readonly targets: ReadonlyMap<string, AwsTarget>,
  ) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), 1000);
    this.sweeper.unref();
  }

  /** Opens the session the credential names; a refusal (bad token, connection not allowed) is returned. */
  async mint(connection: string, token: string, clientAddr: string): Promise<MintedCredential | CustosError> {
    const target = this.targets.get(connection);
    if (!target)
      return new CustosError("access.unknown_connection", `no aws connection named "${connection}"`);
    const tokenKey = `${connection}\u0000${createHash("sha256").update(token).digest("hex")}`;
    const live = this.entries.get(this.byToken.get(tokenKey) ?? "");
    // Handed out again while it has a minute left; the identity is checked again by reopening when idle.
    if (live && live.expiresAt - Date.now() > REUSE_MARGIN_MS) {
      const s = await this.session(live);
      if (s instanceof CustosError) return s;
      return this.credential(live);
    }
    const keyId = newKeyId();
    const entry: Entry = {
      keyId,
      connection,
      token,
      clientAddr,
      expiresAt: 0,
      session: null,
      opening: null,
      stats: { bytesFromClient: 0, bytesToClient: 0, commands: 0 },
      inflight: 0,
      lastUsed: Date.now(),
      startedAt: Date.now(),
      terminated: false,
      uploads: new MultipartBindings(),
    };
    const opened = await this.open(entry);
    if (opened instanceof CustosError) return opened;
    entry.expiresAt = Math.min(Date.now() + target.credentialTtlMs, opened.identity.expiresAt);
    opened.event("aws.credential_issued", { access_key_id: keyId, expires_at: entry.expiresAt });
    this.entries.set(keyId, entry);
    this.byToken.set(tokenKey, keyId);
    return this.credential(entry);
  }

  private credential(entry: Entry): MintedCredential {
    return {
      Version: 1,
      AccessKeyId: entry.keyId,
      SecretAccessKey: deriveSecret(this.key, entry.keyId),
      Expiration: new Date(entry.expiresAt).toISOString(),
    };
  }

  /** The secret of a key id this gateway minted and that has not expired; why not, otherwise. */
  lookup(keyId: string, now: number): { entry: Entry; secret: string } | "unknown" | "expired" {
    const entry = this.entries.get(keyId);
    if (!entry) return "unknown";
    if (now >= entry.expiresAt) return "expired";
    return { entry, secret: deriveSecret(this.key, keyId) };
  }

  /** The live session of a credential, reopened (identity checked again) after an idle close. */
  async session(entry: Entry): Promise<GatewaySession<AwsTarget> | CustosError> {
    if (entry.session && !entry.terminated && entry.session.recordable()) return entry.session;
    if (entry.session) this.closeSession(entry, entry.terminated ? "shutdown" : "audit");
    return this.open(entry);
  }

  hold(entry: Entry): { stats: SessionStats; release(): void } {
    entry.inflight++;
    entry.stats.commands++;
    entry.lastUsed = Date.now();
    let released = false;
    return {
      stats: entry.stats,
      release: () => {
        if (released) return;
        released = true;
        entry.inflight--;
        entry.lastUsed = Date.now();
      },
    };
  }

  async closeAll(reason: string): Promise<void> {
    clearInterval(this.sweeper);
    const closing: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      if (entry.session) closing.push(entry.session.close(reason, entry.stats));
      entry.session = null;
    }
    this.entries.clear();
    this.byToken.clear();
    await Promise.all(closing);
  }

  private open(entry: Entry): Promise<GatewaySession<AwsTarget> | CustosError> {
    if (entry.opening) return entry.opening;
    entry.opening = this.gateway
      .open<AwsTarget>({
        protocol: "aws",
        clientAddr: entry.clientAddr,
        credential: entry.token,
        user: entry.keyId,
        connection: entry.connection,
        tls: null,
      })
      .then((r) => {
        entry.opening = null;
        if (!r.ok) return r.error;
        entry.session = r.session;
        entry.terminated = false;
        entry.startedAt = Date.now();
        entry.stats = { bytesFromClient: 0, bytesToClient: 0, commands: 0 };
        r.session.onTerminate(() => {
          entry.terminated = true;
        });
        return r.session;
      });
    return entry.opening;
  }

  private closeSession(entry: Entry, reason: string): void {
    const s = entry.session;
    entry.session = null;
    if (s) void s.close(reason, entry.stats);
  }

  private sweep(now: number): void {
    for (const [keyId, entry] of this.entries) {
      if (entry.inflight > 0) continue;
      if (now >= entry.expiresAt) {
        this.closeSession(entry, "expired");
        // Kept a while so a late call is told its credential expired rather than that it is unknown.
        if (now - entry.expiresAt < EXPIRED_KEPT_MS) continue;
        this.entries.delete(keyId);
        for (const [k, v] of this.byToken) if (v === keyId) this.byToken.delete(k);
        continue;
      }
      const s = entry.session;
      if (!s) continue;
      if (now - entry.lastUsed >= s.limits.idleTimeoutMs) this.closeSession(entry, "client");
      else if (now - entry.startedAt >= s.limits.maxSessionMs) this.closeSession(entry, "expired");
    }
  }
}

export type CredentialEntry = Entry;
