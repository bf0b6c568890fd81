// Connection-phase messages (protocol_connection_phase): the server greeting (HandshakeV10), the client's
// SSLRequest and HandshakeResponse41, AuthSwitchRequest, and the scrambles of mysql_native_password and
// caching_sha2_password. Pure.
import { createHash, randomBytes } from "node:crypto";
import { Cap, Reader, text, UTF8MB4_GENERAL_CI, utf8, Writer } from "./codec.ts";

export const NATIVE = "mysql_native_password";
export const CACHING_SHA2 = "caching_sha2_password";
export const CLEAR = "mysql_clear_password";
/** The pre-4.1 scheme: never spoken (a weak hash); named only to refuse it clearly. */
export const OLD_PASSWORD = "mysql_old_password";

/** What the gateway's front offers: no compression, no LOAD DATA LOCAL, no IGNORE_SPACE, no MariaDB extras. */
export const FRONT_CAPABILITIES =
  Cap.LONG_PASSWORD |
  Cap.FOUND_ROWS |
  Cap.LONG_FLAG |
  Cap.CONNECT_WITH_DB |
  Cap.PROTOCOL_41 |
  Cap.INTERACTIVE |
  Cap.SSL |
  Cap.TRANSACTIONS |
  Cap.SECURE_CONNECTION |
  Cap.MULTI_STATEMENTS |
  Cap.MULTI_RESULTS |
  Cap.PS_MULTI_RESULTS |
  Cap.PLUGIN_AUTH |
  Cap.CONNECT_ATTRS |
  Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  Cap.SESSION_TRACK |
  Cap.DEPRECATE_EOF;

/** Flags that change the shape of what the server sends: both legs must agree on them. */
export const FORMAT_CAPABILITIES =
  Cap.PROTOCOL_41 | Cap.MULTI_RESULTS | Cap.PS_MULTI_RESULTS | Cap.SESSION_TRACK | Cap.DEPRECATE_EOF;

/** A fresh 20-byte scramble of printable, non-NUL bytes (both plugins take 20 bytes). */
export function newScramble(): Uint8Array {
  const b = randomBytes(20);
  for (let i = 0; i < b.length; i++) b[i] = 0x21 + (b[i]! % 0x5e);
  return new Uint8Array(b);
}

export function greetingPayload(opts: {
  version: string;
  connectionId: number;
  scramble: Uint8Array;
  status: number;
  plugin: string;
}): Uint8Array {
  const caps = FRONT_CAPABILITIES;
  return new Writer()
    .int1(10)
    .nulString(opts.version)
    .int4(opts.connectionId)
    .bytes(opts.scramble.subarray(0, 8))
    .int1(0)
    .int2(caps & 0xffff)
    .int1(UTF8MB4_GENERAL_CI)
    .int2(opts.status)
    .int2(caps >>> 16)
    .int1(opts.scramble.length + 1)
    .zeros(10)
    .bytes(opts.scramble.subarray(8))
    .int1(0)
    .nulString(opts.plugin)
    .end();
}

export interface Greeting {
  version: string;
  connectionId: number;
  capabilities: number;
  scramble: Uint8Array;
  plugin: string;
  status: number;
}

export function parseGreeting(payload: Uint8Array): Greeting {
  const r = new Reader(payload);
  const protocol = r.int1();
  if (protocol !== 10) throw new RangeError(`unsupported handshake protocol ${protocol}`);
  const version = r.nulString();
  const connectionId = r.int4();
  const part1 = r.bytes(8);
  r.int1();
  let capabilities = r.int2();
  r.int1(); // character set
  const status = r.int2();
  capabilities |= r.int2() << 16;
  const authLen = r.int1();
  r.bytes(10);
  const len2 = Math.max(13, authLen - 8);
  let part2 = r.bytes(Math.min(len2, r.left));
  if (part2[part2.length - 1] === 0) part2 = part2.subarray(0, part2.length - 1);
  const plugin = r.left > 0 ? r.nulString() : NATIVE;
  const scramble = new Uint8Array(part1.length + part2.length);
  scramble.set(part1);
  scramble.set(part2, 8);
  return { version, connectionId, capabilities: capabilities >>> 0, scramble, plugin, status };
}

export interface HandshakeResponse {
  capabilities: number;
  maxPacket: number;
  charset: number;
  user: string;
  auth: Uint8Array;
  database: string;
  plugin: string;
  attributes: Record<string, string>;
}

/** SSLRequest: a HandshakeResponse cut after the filler (32 bytes) with CLIENT_SSL set. */
export function isSslRequest(payload: Uint8Array): boolean {
  if (payload.length !== 32) return false;
  const caps = payload[0]! | (payload[1]! << 8);
  return (caps & Cap.SSL) !== 0;
}

export function parseHandshakeResponse(payload: Uint8Array): HandshakeResponse {
  const r = new Reader(payload);
  const capabilities = r.int4();
  if (!(capabilities & Cap.PROTOCOL_41)) throw new RangeError("clients older than protocol 4.1 are refused");
  const maxPacket = r.int4();
  const charset = r.int1();
  r.bytes(23);
  const user = r.nulString();
  let auth: Uint8Array;
  if (capabilities & Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA) auth = r.lenencBytes();
  else if (capabilities & Cap.SECURE_CONNECTION) auth = r.bytes(r.int1());
  else auth = r.nulBytes();
  const database = capabilities & Cap.CONNECT_WITH_DB && r.left > 0 ? r.nulString() : "";
  const plugin = capabilities & Cap.PLUGIN_AUTH && r.left > 0 ? r.nulString() : "";
  const attributes: Record<string, string> = {};
  if (capabilities & Cap.CONNECT_ATTRS && r.left > 0) {
    const total = r.lenenc() ?? 0;
    const end = r.pos + total;
    if (end > payload.length) throw new RangeError("connection attributes overrun the packet");
    while (r.pos < end) {
      const k = r.lenencString();
      attributes[k] = r.lenencString();
    }
  }
  return { capabilities: capabilities >>> 0, maxPacket, charset, user, auth, database, plugin, attributes };
}

export function handshakeResponsePayload(opts: {
  capabilities: number;
  user: string;
  auth: Uint8Array;
  database: string;
  plugin: string;
  attributes?: Record<string, string>;
}): Uint8Array {
  const w = new Writer()
    .int4(opts.capabilities)
    .int4(1 << 24)
    .int1(UTF8MB4_GENERAL_CI)
    .zeros(23)
    .nulString(opts.user)
    .lenencBytes(opts.auth);
  if (opts.capabilities & Cap.CONNECT_WITH_DB) w.nulString(opts.database);
  w.nulString(opts.plugin);
  if (opts.capabilities & Cap.CONNECT_ATTRS) {
    const attrs = new Writer();
    for (const [k, v] of Object.entries(opts.attributes ?? {}))
      attrs.lenencBytes(utf8(k)).lenencBytes(utf8(v));
    const body = attrs.end();
    w.lenencBytes(body);
  }
  return w.end();
}

export function sslRequestPayload(capabilities: number): Uint8Array {
  return new Writer()
    .int4(capabilities | Cap.SSL)
    .int4(1 << 24)
    .int1(UTF8MB4_GENERAL_CI)
    .zeros(23)
    .end();
}

/** AuthSwitchRequest (0xfe, plugin name, plugin data). */
export function authSwitchPayload(plugin: string, data: Uint8Array): Uint8Array {
  return new Writer().int1(0xfe).nulString(plugin).bytes(data).end();
}

/**
 * The plugin data as sent: whether a trailing NUL is a terminator is the plugin's to say (upstream-auth.ts).
 * A lone 0xfe is the Old Authentication Method Switch Request (protocol_connection_phase_packets_protocol_
 * old_auth_switch_request): mysql_old_password over the greeting's scramble; MariaDB sends it for an
 * account of that plugin.
 */
export function parseAuthSwitch(payload: Uint8Array): { plugin: string; data: Uint8Array } {
  if (payload.length === 1) return { plugin: OLD_PASSWORD, data: new Uint8Array(0) };
  const r = new Reader(payload);
  r.int1();
  const plugin = r.nulString();
  return { plugin, data: r.rest() };
}

function sha(alg: "sha1" | "sha256", ...parts: Uint8Array[]): Uint8Array {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i % b.length]!;
  return out;
}

/** mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))). */
export function nativeScramble(password: string, scramble: Uint8Array): Uint8Array {
  if (password === "") return new Uint8Array(0);
  const p1 = sha("sha1", utf8(password));
  const p2 = sha("sha1", p1);
  return xor(p1, sha("sha1", scramble.subarray(0, 20), p2));
}

/** caching_sha2_password fast path: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble). */
export function sha2Scramble(password: string, scramble: Uint8Array): Uint8Array {
  if (password === "") return new Uint8Array(0);
  const p1 = sha("sha256", utf8(password));
  const p2 = sha("sha256", p1);
  return xor(p1, sha("sha256", p2, scramble.subarray(0, 20)));
}

/** The clear password a client sent (caching_sha2 full authentication, mysql_clear_password): NUL-terminated. */
export function clearPassword(data: Uint8Array): string {
  const end = data.indexOf(0);
  return text(end < 0 ? data : data.subarray(0, end));
}
