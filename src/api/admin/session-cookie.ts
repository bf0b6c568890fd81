// The console's cookies: values sealed with AES-256-GCM under a key kept in data_dir, so the browser can
// neither read what they hold (groups, PKCE verifier) nor change it. Pure: no I/O, the clock is passed in.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Identity } from "../../core/identity.ts";

export const COOKIE_NAME = "custos_console";
export const LOGIN_COOKIE = "custos_login";
/**
 * The browser keeps the cookie this long past the session's end, so that the console can tell an expired
 * session (say so, and how to get a new link) from no session; the sealed expiresAt is what is enforced.
 */
export const EXPIRED_NOTICE_MS = 7 * 24 * 3_600_000;

export interface ConsoleSession {
  identity: Identity;
  /** Epoch ms: sign-in + console.session_ttl (not the token's or link's expiry). */
  expiresAt: number;
  /** How the session began: OIDC code flow or a one-time link, for the audit log. */
  via: "oidc" | "link";
}

const VERSION = "v1";

/** `purpose` is bound in as associated data: a login cookie can never be replayed as a session cookie. */
export function seal(value: unknown, key: Uint8Array, purpose: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(`${VERSION}:${purpose}`));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [VERSION, iv.toString("base64url"), body.toString("base64url"), tag.toString("base64url")].join(".");
}

/** Null for anything not sealed by this key for this purpose, tampered with or malformed. */
export function unseal(value: string, key: Uint8Array, purpose: string): unknown {
  const parts = value.split(".");
  if (parts.length !== 4 || parts[0] !== VERSION) return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(parts[1]!, "base64url"));
    decipher.setAAD(Buffer.from(`${VERSION}:${purpose}`));
    decipher.setAuthTag(Buffer.from(parts[3]!, "base64url"));
    const text = Buffer.concat([decipher.update(Buffer.from(parts[2]!, "base64url")), decipher.final()]);
    return JSON.parse(text.toString("utf8"));
  } catch {
    return null;
  }
}

export function sealSession(session: ConsoleSession, key: Uint8Array): string {
  return seal(session, key, "session");
}

/** True for a session this key sealed whose time is up (the sign-in page then says it expired). */
export function sessionExpired(value: string, key: Uint8Array, now: number): boolean {
  const s = unseal(value, key, "session") as ConsoleSession | null;
  return !!s && typeof s === "object" && typeof s.expiresAt === "number" && s.expiresAt <= now;
}

/** Null unless sealed by this key, well-formed and not expired. */
export function openSession(value: string, key: Uint8Array, now: number): ConsoleSession | null {
  const s = unseal(value, key, "session") as ConsoleSession | null;
  if (!s || typeof s !== "object" || typeof s.expiresAt !== "number" || s.expiresAt <= now) return null;
  if (!s.identity || typeof s.identity.subject !== "string" || !Array.isArray(s.identity.groups)) return null;
  return s;
}
