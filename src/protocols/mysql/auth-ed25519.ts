// MariaDB's `ed25519` authentication plugin, client side (`client_ed25519`): the server sends a 32-byte
// nonce, the client answers with a 64-byte signature of it. Pure.
//
// It is NOT Ed25519 with the password as a 32-byte seed. MariaDB's ref10 `crypto_sign` (MariaDB/server
// plugin/auth_ed25519/ref10/sign.c; the client is libmariadb plugins/auth/ed25519.c, which calls
// `crypto_sign(reply, nonce, 32, passwd, strlen(passwd))`) hashes the password of ANY length:
//   az = SHA-512(password); clamp az[0..31] (az[0] &= 248, az[31] &= 63, az[31] |= 64) as the scalar a;
//   A = a·B; r = SHA-512(az[32..63] ‖ nonce) mod L; R = r·B; k = SHA-512(R ‖ A ‖ nonce) mod L;
//   signature = R ‖ (r + k·a mod L), both little-endian 32 bytes (RFC 8032 §5.1.6 from step 2 on).
// The server stores A, base64 without its padding (server_ed25519.c `compute_password_digest`, and the
// `ed25519_password()` function). For a 32-byte password this is exactly RFC 8032 Ed25519 with that seed,
// which the unit test checks against node:crypto; MariaDB's own vectors (plugin/auth_ed25519/ed25519-t.c)
// are checked too.
//
// Curve arithmetic is written out with BigInt because node:crypto signs only from a 32-byte seed. It is
// not constant-time: it runs once per upstream login over the gateway's own configured password.
import { createHash } from "node:crypto";

export const ED25519 = "client_ed25519";
/** server_ed25519.c / common.h: NONCE_BYTES. */
export const ED25519_NONCE_BYTES = 32;

// RFC 8032 §5.1: p = 2^255 - 19, d = -121665/121666, L = 2^252 + 27742317777372353535851937790883648493,
// B = (x, 4/5) with x even.
const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const mod = (a: bigint, m = P) => {
  const r = a % m;
  return r >= 0n ? r : r + m;
};
function pow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}
const inv = (a: bigint) => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const D2 = mod(2n * D);
const BY = mod(4n * inv(5n));
const BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202n;

/** Extended homogeneous coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z (RFC 8032 §5.1.4). */
type Point = readonly [bigint, bigint, bigint, bigint];
const BASE: Point = [BX, BY, 1n, mod(BX * BY)];
const IDENTITY: Point = [0n, 1n, 1n, 0n];

/** RFC 8032 §5.1.4 addition; complete on this curve, so it doubles too. */
function add(p: Point, q: Point): Point {
  const a = mod((p[1] - p[0]) * (q[1] - q[0]));
  const b = mod((p[1] + p[0]) * (q[1] + q[0]));
  const c = mod(p[3] * D2 * q[3]);
  const d = mod(p[2] * 2n * q[2]);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

function scalarMultBase(k: bigint): Point {
  let result = IDENTITY;
  let addend = BASE;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}

/** RFC 8032 §5.1.2: y little-endian, the sign of x in the top bit. */
function encode(p: Point): Uint8Array {
  const zi = inv(p[2]);
  const x = mod(p[0] * zi);
  const y = mod(p[1] * zi);
  const out = toLittleEndian(y);
  if (x & 1n) out[31]! |= 0x80;
  return out;
}

function toLittleEndian(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function fromLittleEndian(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha512");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function secretScalar(password: Uint8Array): { a: bigint; prefix: Uint8Array } {
  const az = sha512(password);
  const lower = az.slice(0, 32);
  lower[0]! &= 248;
  lower[31]! &= 63;
  lower[31]! |= 64;
  return { a: fromLittleEndian(lower), prefix: az.subarray(32) };
}

/** The public key MariaDB stores for this password (ref10 keypair.c over the password). */
export function ed25519PublicKey(password: Uint8Array): Uint8Array {
  return encode(scalarMultBase(secretScalar(password).a));
}

/** client_ed25519's reply: the 64-byte signature of the server's nonce under the password-derived key. */
export function ed25519Sign(password: Uint8Array, message: Uint8Array): Uint8Array {
  const { a, prefix } = secretScalar(password);
  const publicKey = encode(scalarMultBase(a));
  const r = fromLittleEndian(sha512(prefix, message)) % L;
  const R = encode(scalarMultBase(r));
  const k = fromLittleEndian(sha512(R, publicKey, message)) % L;
  const s = (r + k * a) % L;
  const out = new Uint8Array(64);
  out.set(R);
  out.set(toLittleEndian(s), 32);
  return out;
}
