// SFTP version 3 packets (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks): framing, the fields
// the gateway decides on, and the STATUS reply it answers a refusal with. Pure. Packets stay opaque bytes
// (subarray views) unless they name a path or a handle.

// Packet types, filexfer-02 §3.
export const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

// OPEN pflags, filexfer-02 §6.3.
export const PFLAG = { READ: 1, WRITE: 2, APPEND: 4, CREAT: 8, TRUNC: 0x10, EXCL: 0x20 } as const;
// STATUS codes, filexfer-02 §7.
export const FX = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  OP_UNSUPPORTED: 8,
} as const;

/** OpenSSH's sftp-server limit (SFTP_MAX_MSG_LENGTH): no legitimate packet is larger. */
export const MAX_PACKET = 256 * 1024 + 1024;

/** Splits a byte stream into whole packets (length field included); holds at most one partial packet. */
export class PacketFramer {
  private pending: Uint8Array | null = null;

  /** Packets completed by this chunk; throws on a length past MAX_PACKET (the caller ends the channel). */
  push(chunk: Uint8Array): Uint8Array[] {
    let buf = chunk;
    if (this.pending) {
      const joined = new Uint8Array(this.pending.length + chunk.length);
      joined.set(this.pending, 0);
      joined.set(chunk, this.pending.length);
      buf = joined;
      this.pending = null;
    }
    const out: Uint8Array[] = [];
    let at = 0;
    while (buf.length - at >= 4) {
      const len = readU32(buf, at);
      if (len < 1 || len > MAX_PACKET) throw new Error(`SFTP packet length ${len} out of bounds`);
      if (buf.length - at < 4 + len) break;
      out.push(buf.subarray(at, at + 4 + len));
      at += 4 + len;
    }
    if (at < buf.length) this.pending = buf.slice(at);
    return out;
  }
}

export function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** A cursor over one packet's fields; any read past the end throws (a malformed packet). */
export class Reader {
  at: number;
  constructor(
    readonly b: Uint8Array,
    at = 5,
  ) {
    this.at = at;
  }
  u32(): number {
    if (this.at + 4 > this.b.length) throw new Error("SFTP packet truncated");
    const v = readU32(this.b, this.at);
    this.at += 4;
    return v;
  }
  u64(): number {
    const hi = this.u32();
    const lo = this.u32();
    return hi * 2 ** 32 + lo;
  }
  bytes(): Uint8Array {
    const n = this.u32();
    if (this.at + n > this.b.length) throw new Error("SFTP string truncated");
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  string(): string {
    return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes());
  }
}

export function packetType(p: Uint8Array): number {
  return p[4]!;
}

/** The request id of a request or reply (every type but INIT and VERSION). */
export function packetId(p: Uint8Array): number {
  return readU32(p, 5);
}

const encoder = new TextEncoder();

function frame(type: number, body: Uint8Array[]): Uint8Array {
  const len = 1 + body.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(4 + len);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len);
  out[4] = type;
  let at = 5;
  for (const b of body) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v);
  return b;
}

function str(v: string | Uint8Array): Uint8Array {
  const bytes = typeof v === "string" ? encoder.encode(v) : v;
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

/** A request naming one path and nothing else (REALPATH, LSTAT: filexfer-02 §6.8, §6.10). */
export function pathRequest(type: number, id: number, path: string): Uint8Array {
  return frame(type, [u32(id), str(path)]);
}

/** ATTRS' permissions field (filexfer-02 §5: flags, then size, uid/gid, permissions when flagged). */
export function attrsPermissions(r: Reader): number | null {
  const flags = r.u32();
  if (flags & 0x1) r.u64();
  if (flags & 0x2) r.at += 8;
  return flags & 0x4 ? r.u32() : null;
}

/** SSH_FXP_STATUS: id, code, message, language tag. */
export function statusPacket(id: number, code: number, message: string): Uint8Array {
  return frame(FXP.STATUS, [u32(id), u32(code), str(message), str("")]);
}

/**
 * The same request with its path fields replaced (the normalised form the gateway decided on). `paths`
 * gives each path field's new value in order; the bytes after the last path are kept as they were.
 */
export function withPaths(p: Uint8Array, paths: string[], extendedName?: string): Uint8Array {
  const r = new Reader(p);
  const id = r.u32();
  const head: Uint8Array[] = [u32(id)];
  if (extendedName !== undefined) {
    r.bytes();
    head.push(str(extendedName));
  }
  for (const path of paths) {
    r.bytes();
    head.push(str(path));
  }
  return frame(packetType(p), [...head, p.subarray(r.at)]);
}
