// The MySQL client/server protocol's bytes, pure: packet framing, length-encoded values, and the few
// messages the gateway builds or reads (MySQL "Client/Server Protocol" reference, sections cited below;
// MariaDB's protocol is the same for everything used here).

// Capability flags (protocol_basic capabilities, "Capabilities Flags").
export const Cap = {
  LONG_PASSWORD: 1, // MariaDB reads bit 0 of a server's flags as "CLIENT_MYSQL": no MariaDB extensions
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  NO_SCHEMA: 16,
  COMPRESS: 32,
  ODBC: 64,
  LOCAL_FILES: 128,
  IGNORE_SPACE: 256,
  PROTOCOL_41: 512,
  INTERACTIVE: 1024,
  SSL: 2048,
  IGNORE_SIGPIPE: 4096,
  TRANSACTIONS: 8192,
  RESERVED: 16384,
  SECURE_CONNECTION: 32768,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  CAN_HANDLE_EXPIRED_PASSWORDS: 1 << 22,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
} as const;

// Server status flags (SERVER_STATUS_flags_enum).
export const Status = {
  IN_TRANS: 1,
  AUTOCOMMIT: 2,
  MORE_RESULTS_EXISTS: 8,
  CURSOR_EXISTS: 0x40,
  LAST_ROW_SENT: 0x80,
  NO_BACKSLASH_ESCAPES: 0x200,
  SESSION_STATE_CHANGED: 0x4000,
} as const;

// Command bytes (my_command.h, "Text Protocol" and "Prepared Statements").
export const Com = {
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  STATISTICS: 0x09,
  PROCESS_KILL: 0x0c,
  PING: 0x0e,
  CHANGE_USER: 0x11,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  RESET_CONNECTION: 0x1f,
} as const;

/** utf8mb4_general_ci: the one character set the gateway lexes SQL in, pinned on the upstream leg. */
export const UTF8MB4_GENERAL_CI = 45;
/** Largest payload of one packet; a payload of exactly this length continues in the next packet. */
export const MAX_PAYLOAD = 0xffffff;

export interface Packet {
  /** Sequence id of the first (usually only) wire packet. */
  seq: number;
  /** Wire packets the payload took (more than one past MAX_PAYLOAD). */
  parts: number;
  /** The logical payload (continuation packets joined). */
  payload: Uint8Array;
  /** The packet(s) as received, for forwarding unchanged. */
  raw: Uint8Array;
}

/**
 * Frames packets from a byte stream: one concat only when a packet spans chunks; payloads are views.
 * `maxPayload` bounds a logical payload before it is buffered (a larger one throws).
 */
export class PacketReader {
  private buf: Uint8Array = new Uint8Array(0);
  /** Frames no more packets once this many are out (the first client packet, before TLS); null: no limit. */
  remaining: number | null = null;
  constructor(public maxPayload: number) {}

  push(chunk: Uint8Array): Packet[] {
    this.buf = this.buf.length === 0 ? chunk : concat([this.buf, chunk]);
    const out: Packet[] = [];
    let pos = 0;
    for (;;) {
      if (this.remaining !== null && this.remaining <= 0) break;
      // A logical packet: chunks of MAX_PAYLOAD followed by one shorter chunk (protocol_basic_packets).
      let p = pos;
      let total = 0;
      let complete = false;
      let parts = 0;
      let seq = -1;
      while (p + 4 <= this.buf.length) {
        const len = this.buf[p]! | (this.buf[p + 1]! << 8) | (this.buf[p + 2]! << 16);
        if (seq < 0) seq = this.buf[p + 3]!;
        total += len;
        if (total > this.maxPayload) throw new RangeError(`packet of more than ${this.maxPayload} bytes`);
        if (p + 4 + len > this.buf.length) break;
        p += 4 + len;
        parts++;
        if (len < MAX_PAYLOAD) {
          complete = true;
          break;
        }
      }
      if (!complete) break;
      const raw = this.buf.subarray(pos, p);
      let payload: Uint8Array;
      if (parts === 1) payload = raw.subarray(4);
      else {
        payload = new Uint8Array(total);
        let r = 0;
        let w = 0;
        while (r < raw.length) {
          const len = raw[r]! | (raw[r + 1]! << 8) | (raw[r + 2]! << 16);
          payload.set(raw.subarray(r + 4, r + 4 + len), w);
          w += len;
          r += 4 + len;
        }
      }
      out.push({ seq, parts, payload, raw });
      if (this.remaining !== null) this.remaining--;
      pos = p;
    }
    this.buf = pos === this.buf.length ? new Uint8Array(0) : this.buf.subarray(pos);
    return out;
  }

  get buffered(): number {
    return this.buf.length;
  }

  /** Hands over the bytes read but not framed (the start of a TLS handshake) and forgets them. */
  take(): Uint8Array {
    const rest = this.buf;
    this.buf = new Uint8Array(0);
    return rest;
  }
}

/** One payload as packets with sequence ids from `seq` (split at MAX_PAYLOAD). */
export function packet(seq: number, payload: Uint8Array): Uint8Array {
  if (payload.length < MAX_PAYLOAD) {
    const out = new Uint8Array(4 + payload.length);
    out[0] = payload.length & 0xff;
    out[1] = (payload.length >> 8) & 0xff;
    out[2] = payload.length >> 16;
    out[3] = seq & 0xff;
    out.set(payload, 4);
    return out;
  }
  const chunks: Uint8Array[] = [];
  let s = seq;
  let off = 0;
  for (;;) {
    const len = Math.min(MAX_PAYLOAD, payload.length - off);
    const head = new Uint8Array([len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, s & 0xff]);
    chunks.push(head, payload.subarray(off, off + len));
    off += len;
    s++;
    if (len < MAX_PAYLOAD) break;
  }
  return concat(chunks);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: false });

export function utf8(text: string): Uint8Array {
  return enc.encode(text);
}

export function text(bytes: Uint8Array): string {
  return dec.decode(bytes);
}

/** A writer for payloads (little-endian, protocol_basic_dt_integers). */
export class Writer {
  private parts: number[] = [];
  private chunks: Uint8Array[] = [];
  int1(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  int2(v: number): this {
    return this.int1(v).int1(v >> 8);
  }
  int3(v: number): this {
    return this.int1(v)
      .int1(v >> 8)
      .int1(v >> 16);
  }
  int4(v: number): this {
    return this.int2(v & 0xffff).int2(v >>> 16);
  }
  bytes(b: Uint8Array): this {
    this.flush();
    this.chunks.push(b);
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.parts.push(0);
    return this;
  }
  nulString(s: string | Uint8Array): this {
    return this.bytes(typeof s === "string" ? utf8(s) : s).int1(0);
  }
  lenenc(v: number): this {
    if (v < 251) return this.int1(v);
    if (v < 1 << 16) return this.int1(0xfc).int2(v);
    if (v < 1 << 24) return this.int1(0xfd).int3(v);
    return this.int1(0xfe)
      .int4(v)
      .int4(Math.floor(v / 2 ** 32));
  }
  lenencBytes(b: Uint8Array): this {
    return this.lenenc(b.length).bytes(b);
  }
  private flush(): void {
    if (this.parts.length) {
      this.chunks.push(new Uint8Array(this.parts));
      this.parts = [];
    }
  }
  end(): Uint8Array {
    this.flush();
    return concat(this.chunks);
  }
}

/** A reader over one payload; reads past the end throw RangeError (the caller refuses the packet). */
export class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  get left(): number {
    return this.b.length - this.pos;
  }
  private need(n: number): void {
    if (this.pos + n > this.b.length) throw new RangeError("truncated packet");
  }
  int1(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }
  int2(): number {
    this.need(2);
    const v = this.b[this.pos]! | (this.b[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }
  int3(): number {
    this.need(3);
    const v = this.b[this.pos]! | (this.b[this.pos + 1]! << 8) | (this.b[this.pos + 2]! << 16);
    this.pos += 3;
    return v;
  }
  int4(): number {
    this.need(4);
    const v =
      (this.b[this.pos]! | (this.b[this.pos + 1]! << 8) | (this.b[this.pos + 2]! << 16)) +
      this.b[this.pos + 3]! * 0x1000000;
    this.pos += 4;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  rest(): Uint8Array {
    return this.bytes(this.left);
  }
  nulBytes(): Uint8Array {
    const end = this.b.indexOf(0, this.pos);
    if (end < 0) throw new RangeError("unterminated string");
    const v = this.b.subarray(this.pos, end);
    this.pos = end + 1;
    return v;
  }
  nulString(): string {
    return text(this.nulBytes());
  }
  /** Length-encoded integer; null for 0xfb (NULL in a text row). */
  lenenc(): number | null {
    const first = this.int1();
    if (first < 0xfb) return first;
    if (first === 0xfb) return null;
    if (first === 0xfc) return this.int2();
    if (first === 0xfd) return this.int3();
    if (first === 0xfe) {
      const lo = this.int4();
      const hi = this.int4();
      if (hi > 0x1fffff) throw new RangeError("length beyond 2^53");
      return hi * 2 ** 32 + lo;
    }
    throw new RangeError("invalid length-encoded integer");
  }
  lenencBytes(): Uint8Array {
    const n = this.lenenc();
    if (n === null) throw new RangeError("unexpected NULL");
    return this.bytes(n);
  }
  lenencString(): string {
    return text(this.lenencBytes());
  }
}

// Generic response packets (protocol_basic_response_packets).
export const OK = 0x00;
export const EOF = 0xfe;
export const ERR = 0xff;
export const LOCAL_INFILE = 0xfb;

export interface OkPacket {
  affectedRows: number;
  lastInsertId: number;
  status: number;
  warnings: number;
}

/** Reads an OK packet (0x00, or 0xfe with length ≥ 7 under DEPRECATE_EOF). */
export function parseOk(payload: Uint8Array): OkPacket {
  const r = new Reader(payload);
  r.int1();
  const affectedRows = r.lenenc() ?? 0;
  const lastInsertId = r.lenenc() ?? 0;
  const status = r.int2();
  const warnings = r.int2();
  return { affectedRows, lastInsertId, status, warnings };
}

/** EOF packet (0xfe, payload < 9): warnings and status. */
export function parseEof(payload: Uint8Array): { warnings: number; status: number } {
  const r = new Reader(payload);
  r.int1();
  return { warnings: r.int2(), status: r.int2() };
}

export function isEofPacket(payload: Uint8Array): boolean {
  return payload[0] === EOF && payload.length < 9;
}

export function okPayload(status: number, affectedRows = 0, warnings = 0): Uint8Array {
  return new Writer().int1(OK).lenenc(affectedRows).lenenc(0).int2(status).int2(warnings).end();
}

/** ERR packet with SQL state (PROTOCOL_41). */
export function errPayload(code: number, sqlState: string, message: string): Uint8Array {
  return new Writer()
    .int1(ERR)
    .int2(code)
    .bytes(utf8(`#${sqlState.padEnd(5, "0").slice(0, 5)}`))
    .bytes(utf8(message))
    .end();
}

export interface ErrPacket {
  code: number;
  sqlState: string;
  message: string;
}

export function parseErr(payload: Uint8Array): ErrPacket {
  const r = new Reader(payload);
  r.int1();
  const code = r.int2();
  let sqlState = "HY000";
  if (r.left > 0 && payload[r.pos] === 0x23 /* '#' */) {
    r.int1();
    sqlState = text(r.bytes(5));
  }
  return { code, sqlState, message: text(r.rest()) };
}
