// The few PostgreSQL v3 messages the demo server speaks itself (protocol-message-formats); the rest of the
// conversation is PGlite's own backend output, relayed untouched.

// Startup-phase request codes (int32 after the length).
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
export const PROTOCOL_MAJOR_3 = 3;

/** Same cap PostgreSQL applies to a startup packet (MAX_STARTUP_PACKET_LENGTH). */
export const MAX_STARTUP_BYTES = 10_000;
/** Cap on one frontend message; the demo never needs more, and an absurd length means a broken client. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

// 'N': SSL/GSS encryption not supported, continue in plaintext (SSLRequest answer).
export const DECLINE_ENCRYPTION = Uint8Array.of(0x4e);
// 'R' AuthenticationCleartextPassword: length 8, code 3.
export const AUTH_CLEARTEXT_PASSWORD = Uint8Array.of(0x52, 0, 0, 0, 8, 0, 0, 0, 3);
// 'S' Sync, sent on a dead connection's behalf to end any half-sent extended-protocol batch.
export const SYNC = Uint8Array.of(0x53, 0, 0, 0, 4);

export const MSG_TERMINATE = 0x58; // 'X'
export const MSG_PASSWORD = 0x70; // 'p'
export const MSG_PARSE = 0x50; // 'P'
export const MSG_CLOSE = 0x43; // 'C' (frontend Close)
export const MSG_READY_FOR_QUERY = 0x5a; // 'Z'
export const TX_IDLE = 0x49; // 'I' in ReadyForQuery

/** A FATAL ErrorResponse ('E') with severity, SQLSTATE and message fields. */
export function fatalError(sqlstate: string, message: string): Uint8Array {
  const enc = new TextEncoder();
  const fields = [
    ["S", "FATAL"],
    ["V", "FATAL"],
    ["C", sqlstate],
    ["M", message],
  ].map(([tag, value]) => enc.encode(`${tag}${value}\0`));
  const bodyLength = fields.reduce((n, f) => n + f.length, 0) + 1;
  const out = new Uint8Array(1 + 4 + bodyLength);
  const view = new DataView(out.buffer);
  out[0] = 0x45; // 'E'
  view.setInt32(1, 4 + bodyLength);
  let offset = 5;
  for (const f of fields) {
    out.set(f, offset);
    offset += f.length;
  }
  out[offset] = 0;
  return out;
}

/** Key/value pairs of a StartupMessage body (after length and version), or undefined if malformed. */
export function parseStartupParams(body: Uint8Array): Map<string, string> | undefined {
  const parts = new TextDecoder("utf-8", { fatal: false }).decode(body).split("\0");
  // A well-formed body ends with "\0\0": the split leaves two trailing empty strings.
  if (parts.length < 2 || parts.pop() !== "" || parts.pop() !== "") return undefined;
  if (parts.length % 2 !== 0) return undefined;
  const params = new Map<string, string>();
  for (let i = 0; i < parts.length; i += 2) params.set(parts[i] as string, parts[i + 1] as string);
  return params;
}

/** A null-terminated string starting at `offset`, or undefined if there is no terminator. */
export function cString(bytes: Uint8Array, offset: number): string | undefined {
  const end = bytes.indexOf(0, offset);
  if (end < 0) return undefined;
  return new TextDecoder().decode(bytes.subarray(offset, end));
}

/** Why a StartupMessage is refused, in PostgreSQL's own words, or undefined to go on. */
export function startupRefusal(
  frame: Uint8Array,
  code: number,
  expected: { user: string; database: string },
): { sqlstate: string; message: string } | undefined {
  if (code >>> 16 !== PROTOCOL_MAJOR_3) {
    return { sqlstate: "0A000", message: `unsupported frontend protocol ${code >>> 16}` };
  }
  const params = parseStartupParams(frame.subarray(8));
  if (!params) return { sqlstate: "08P01", message: "invalid startup packet layout" };
  const user = params.get("user");
  if (!user) return { sqlstate: "28000", message: "no PostgreSQL user name specified in startup packet" };
  // Checked before the password: the only role is the well-known postgres, so there is nothing to hide.
  if (user !== expected.user) return { sqlstate: "28000", message: `role "${user}" does not exist` };
  const database = params.get("database") || user;
  if (database !== expected.database)
    return { sqlstate: "3D000", message: `database "${database}" does not exist` };
  return undefined;
}
