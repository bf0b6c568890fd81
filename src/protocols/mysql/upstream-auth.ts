// The gateway's answers to the real server's authentication requests (protocol_connection_phase): which
// plugin it opens with, what it answers an AuthSwitchRequest with, and caching_sha2_password's
// AuthMoreData. Pure; every request the gateway does not speak, or could only answer by sending the
// password in clear over a connection without TLS, FAILS CLOSED.
import { CustosError } from "../../core/errors.ts";
import { ED25519, ED25519_NONCE_BYTES, ed25519Sign } from "./auth-ed25519.ts";
import { utf8 } from "./codec.ts";
import { CACHING_SHA2, NATIVE, nativeScramble, sha2Scramble } from "./handshake.ts";

/** The plugins the gateway logs in with upstream. */
export const UPSTREAM_PLUGINS: readonly string[] = [NATIVE, CACHING_SHA2, ED25519];

function authFailed(message: string): CustosError {
  return new CustosError("upstream.auth_failed", message);
}

/** A server-chosen name shown in an error: printable ASCII, bounded, so a hostile server cannot forge lines. */
function shown(name: string): string {
  const clean = name.replace(/[^\x20-\x7e]/g, "?").slice(0, 64);
  return clean === "" ? "(unnamed)" : clean;
}

/**
 * The plugin of the HandshakeResponse. The greeting's 20-byte scramble serves mysql_native_password and
 * caching_sha2_password; client_ed25519 signs a 32-byte nonce that only an AuthSwitchRequest carries
 * (MariaDB's greeting always names mysql_native_password, sql_acl.cc), so any other greeting plugin is
 * answered as mysql_native_password and the server switches the account's own plugin in.
 */
export function openingPlugin(greetingPlugin: string): string {
  return greetingPlugin === CACHING_SHA2 ? CACHING_SHA2 : NATIVE;
}

/** The auth data for `plugin` over the server's scramble or nonce (`data` as the server sent it). */
export function pluginAnswer(plugin: string, password: string, data: Uint8Array): Uint8Array {
  if (plugin === NATIVE) return nativeScramble(password, stripNul(data));
  if (plugin === CACHING_SHA2) return sha2Scramble(password, stripNul(data));
  if (plugin === ED25519) {
    // server_ed25519.c writes exactly NONCE_BYTES random bytes (no NUL terminator: a nonce may end in 0).
    if (data.length !== ED25519_NONCE_BYTES)
      throw authFailed(
        `the server's client_ed25519 nonce is ${data.length} bytes, not ${ED25519_NONCE_BYTES}; refused`,
      );
    return ed25519Sign(utf8(password), data);
  }
  throw authFailed(
    `the server asks for the ${shown(plugin)} authentication plugin, which the gateway does not speak upstream ` +
      `(it speaks ${UPSTREAM_PLUGINS.join(", ")}); refused`,
  );
}

/** The 20-byte scrambles of native and caching_sha2 are sent NUL-terminated (HandshakeV10, AuthSwitchRequest). */
function stripNul(data: Uint8Array): Uint8Array {
  return data[data.length - 1] === 0 ? data.subarray(0, data.length - 1) : data;
}

/**
 * caching_sha2_password's AuthMoreData (0x01, then one status byte): 0x03 fast authentication succeeded
 * (an OK follows: `null`, wait), 0x04 full authentication, which the gateway answers only over TLS with
 * the NUL-terminated password (caching_sha2_password.cc, `perform_full_authentication`), and only to a
 * server whose certificate it verified. Without TLS the
 * server would want the password RSA-OAEP encrypted under its public key; the gateway does not implement
 * that exchange, so it refuses rather than send the password in clear or trust an unauthenticated key.
 */
/** What protects the upstream leg: nothing, TLS without verifying the server, or TLS with verify-full. */
export type UpstreamTls = "none" | "unverified" | "verified";

export function cachingSha2MoreData(
  payload: Uint8Array,
  tls: UpstreamTls,
  password: string,
): Uint8Array | null {
  const status = payload[1];
  if (payload.length === 2 && status === 0x03) return null;
  if (payload.length === 2 && status === 0x04) {
    // Over TLS whose server certificate was not verified (prefer, require) anyone in the path could be the
    // server and read the password: only a verified server gets it.
    if (tls !== "verified")
      throw authFailed(
        "the server wants caching_sha2_password full authentication (the password itself) over a connection " +
          `${tls === "none" ? "without TLS" : "whose server certificate is not verified"}; the gateway sends it ` +
          "only to a verified server: set target.tls to verify-full (with ca_file)",
      );
    return utf8(`${password}\0`);
  }
  throw authFailed("unexpected caching_sha2_password data from the server; refused");
}
