// PostgreSQL protocol 3.0 codec: framing, decoding and encoding of messages. Pure: no I/O, no state
// beyond the framer's partial buffer. Byte layouts follow "Message Formats" in the PostgreSQL docs
// (protocol-message-formats). Messages stay as Uint8Array views until someone needs their content.

export const PROTOCOL_3_0 = 196608; // 3 << 16
export const SSL_REQUEST_CODE = 80877103; // 1234 << 16 | 5679
export const GSSENC_REQUEST_CODE = 80877104; // 1234 << 16 | 5680
export const CANCEL_REQUEST_CODE = 80877102; // 1234 << 16 | 5678
/** The server's own limit on a startup packet (MAX_STARTUP_PACKET_LENGTH in pqcomm.h). */
export const MAX_STARTUP_PACKET = 10_000;

const utf8 = new TextDecoder();
const utf8enc = new TextEncoder();

export class CodecError extends Error {
  constructor(
    readonly kind: "malformed" | "too_large" | "unsupported",
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Framing

/**
 * Splits a byte stream into typed messages (1 type byte + int32 length including itself). Whole messages are
 * handed out as subarray views of the incoming chunk. A message spanning chunks is kept as a list of views
 * and joined once, when its last byte arrives: the cost is linear in the message, however many chunks it
 * takes (re-joining the pending bytes on every chunk made a 160 MB value cost minutes of copying). The size
 * cap is checked as soon as the length is known, before anything beyond the header is kept.
 */
export class MessageFramer {
  private parts: Uint8Array[] = [];
  private partsLength = 0;
  /** Total size of the pending message (type byte included) once its header is complete, else 0. */
  private expected = 0;
  /** The pending message's header while its body is passed through rather than kept (skipPending). */
  private skippedHeader: Uint8Array | null = null;

  /** The largest message accepted; raised after authentication (the password phase is capped tiny). */
  constructor(public maxMessage: number) {}

  /**
   * Calls `onMessage(type, message)` for each complete message; `message` includes type and length. A
   * message whose body was skipped (skipPending) is reported as its 5-byte header (see isSkipped), and its
   * body bytes in this chunk are handed to `onSkipped` as they arrive.
   */
  push(
    chunk: Uint8Array,
    onMessage: (type: number, message: Uint8Array) => void,
    onSkipped?: (bytes: Uint8Array) => void,
  ): void {
    let off = 0;
    if (this.partsLength > 0) {
      off = this.skippedHeader
        ? this.continueSkipped(chunk, onMessage, onSkipped)
        : this.continuePending(chunk, onMessage);
      if (off < 0) return;
    }
    while (chunk.length - off >= 5) {
      const len = this.checkedLength(readInt32(chunk, off + 1));
      const end = off + 1 + len;
      if (end > chunk.length) break;
      onMessage(chunk[off]!, chunk.subarray(off, end));
      off = end;
    }
    if (off < chunk.length) this.startPending(chunk.subarray(off));
  }

  private checkedLength(len: number): number {
    if (len < 4) throw new CodecError("malformed", `invalid message length ${len}`);
    if (len > this.maxMessage) {
      throw new CodecError("too_large", `message of ${len} bytes exceeds the limit of ${this.maxMessage}`);
    }
    return len;
  }

  private startPending(rest: Uint8Array): void {
    this.parts = [rest];
    this.partsLength = rest.length;
    this.expected = rest.length >= 5 ? 1 + this.checkedLength(readInt32(rest, 1)) : 0;
  }

  /** Adds the chunk's bytes to the pending message; returns the offset after it, or -1 if still pending. */
  private continuePending(chunk: Uint8Array, onMessage: (type: number, message: Uint8Array) => void): number {
    let off = 0;
    if (this.expected === 0) {
      // The header itself spans chunks: join the (at most four) bytes held with enough of this chunk.
      const take = Math.min(5 - this.partsLength, chunk.length);
      const head = concatAll([...this.parts, chunk.subarray(0, take)]);
      this.parts = [head];
      this.partsLength = head.length;
      off = take;
      if (head.length < 5) return -1;
      this.expected = 1 + this.checkedLength(readInt32(head, 1));
    }
    const take = Math.min(this.expected - this.partsLength, chunk.length - off);
    if (take > 0) {
      this.parts.push(chunk.subarray(off, off + take));
      this.partsLength += take;
      off += take;
    }
    if (this.partsLength < this.expected) return -1;
    const message = concatAll(this.parts);
    this.parts = [];
    this.partsLength = 0;
    this.expected = 0;
    onMessage(message[0]!, message);
    return off;
  }

  /**
   * Stops keeping the pending message (its header must be complete): the caller has passed its bytes on
   * already and will pass on the rest, so a value of any size costs no memory here. Only for messages
   * nobody needs to read whole (DataRow, CopyData on an unmasked stream).
   */
  skipPending(): void {
    if (this.expected === 0 || this.skippedHeader) return;
    this.skippedHeader = concatAll(this.parts).slice(0, 5);
    this.parts = [];
  }

  get skipping(): boolean {
    return this.skippedHeader !== null;
  }

  private continueSkipped(
    chunk: Uint8Array,
    onMessage: (type: number, message: Uint8Array) => void,
    onSkipped?: (bytes: Uint8Array) => void,
  ): number {
    const take = Math.min(this.expected - this.partsLength, chunk.length);
    if (take > 0) onSkipped?.(chunk.subarray(0, take));
    this.partsLength += take;
    if (this.partsLength < this.expected) return -1;
    const header = this.skippedHeader!;
    this.skippedHeader = null;
    this.partsLength = 0;
    this.expected = 0;
    onMessage(header[0]!, header);
    return take;
  }

  /** Bytes of the incomplete message seen so far (held, or passed through when skipped). */
  get buffered(): number {
    return this.partsLength;
  }

  /** Type byte of the incomplete message held, or -1. */
  get pendingType(): number {
    if (this.partsLength === 0) return -1;
    return (this.skippedHeader ?? this.parts[0]!)[0]!;
  }
}

/** A message reported by its header only, its body having been passed through (MessageFramer.skipPending). */
export const isSkipped = (m: Uint8Array): boolean => m.length === 5 && readInt32(m, 1) > 4;

/**
 * The first client packet has no type byte: int32 length then int32 code. Returns the packet when complete,
 * null when more bytes are needed.
 */
export function readStartupPacket(buf: Uint8Array): { packet: Uint8Array; rest: Uint8Array } | null {
  if (buf.length < 4) return null;
  const len = readInt32(buf, 0);
  if (len < 8 || len > MAX_STARTUP_PACKET) {
    throw new CodecError("malformed", `invalid startup packet length ${len}`);
  }
  if (buf.length < len) return null;
  return { packet: buf.subarray(0, len), rest: buf.subarray(len) };
}

export type StartupPacket =
  | { kind: "ssl" }
  | { kind: "gssenc" }
  | { kind: "cancel"; pid: number; secret: number }
  | { kind: "startup"; minor: number; params: Record<string, string> };

export function decodeStartupPacket(packet: Uint8Array): StartupPacket {
  const code = readInt32(packet, 4);
  if (code === SSL_REQUEST_CODE) return { kind: "ssl" };
  if (code === GSSENC_REQUEST_CODE) return { kind: "gssenc" };
  if (code === CANCEL_REQUEST_CODE) {
    if (packet.length !== 16) throw new CodecError("malformed", "invalid CancelRequest length");
    return { kind: "cancel", pid: readInt32(packet, 8), secret: readInt32(packet, 12) };
  }
  if (code >> 16 !== 3) {
    throw new CodecError("unsupported", `unsupported frontend protocol ${code >> 16}.${code & 0xffff}`);
  }
  const params: Record<string, string> = {};
  const r = new Reader(packet, 8);
  for (;;) {
    const key = r.cstring();
    if (key === "") break;
    params[key] = r.cstring();
  }
  return { kind: "startup", minor: code & 0xffff, params };
}

// ---------------------------------------------------------------------------------------------------------
// Reading

export function readInt32(buf: Uint8Array, off: number): number {
  return (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]! | 0;
}

export function readInt16(buf: Uint8Array, off: number): number {
  return (((buf[off]! << 8) | buf[off + 1]!) << 16) >> 16;
}

/** Sequential reader over one message body. Throws CodecError on reads past the end. */
export class Reader {
  constructor(
    readonly buf: Uint8Array,
    public off: number,
  ) {}
  int32(): number {
    this.need(4);
    const v = readInt32(this.buf, this.off);
    this.off += 4;
    return v;
  }
  int16(): number {
    this.need(2);
    const v = readInt16(this.buf, this.off);
    this.off += 2;
    return v;
  }
  byte(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }
  cstring(): string {
    // The unnamed statement and portal (the common extended-protocol case) are empty strings: no decode.
    if (this.buf[this.off] === 0 && this.off < this.buf.length) {
      this.off++;
      return "";
    }
    const end = this.buf.indexOf(0, this.off);
    if (end === -1) throw new CodecError("malformed", "unterminated string");
    const s = utf8.decode(this.buf.subarray(this.off, end));
    this.off = end + 1;
    return s;
  }
  /** Advances past n bytes without a view of them (a structure checked, not kept). */
  skip(n: number): void {
    this.need(n);
    this.off += n;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  rest(): Uint8Array {
    const v = this.buf.subarray(this.off);
    this.off = this.buf.length;
    return v;
  }
  private need(n: number) {
    // A negative length (other than the -1 of NULL, handled by the callers) would move the read backwards
    // and decode bytes PostgreSQL never reads as that field: refused, as the server refuses it.
    if (n < 0) throw new CodecError("malformed", `negative length ${n}`);
    if (this.off + n > this.buf.length) throw new CodecError("malformed", "message shorter than its content");
  }
}

/** Reader positioned after the type byte and length of a typed message. */
export function body(message: Uint8Array): Reader {
  return new Reader(message, 5);
}

// ---------------------------------------------------------------------------------------------------------
// Frontend (client → server) messages the gateway inspects

export interface Bind {
  portal: string;
  statement: string;
  paramFormats: number[];
  /** Parameter values as views; null for SQL NULL. */
  params: (Uint8Array | null)[];
  resultFormats: number[];
}

export const decodeQuery = (m: Uint8Array): string => body(m).cstring();

export function decodeParse(m: Uint8Array): { name: string; query: string; paramTypes: number[] } {
  const r = body(m);
  const name = r.cstring();
  const query = r.cstring();
  const n = r.int16();
  const paramTypes: number[] = [];
  for (let i = 0; i < n; i++) paramTypes.push(r.int32());
  return { name, query, paramTypes };
}

export function decodeBind(m: Uint8Array): Bind {
  const r = body(m);
  const portal = r.cstring();
  const statement = r.cstring();
  const paramFormats: number[] = [];
  for (let i = 0, n = r.int16(); i < n; i++) paramFormats.push(r.int16());
  const params: (Uint8Array | null)[] = [];
  for (let i = 0, n = r.int16(); i < n; i++) {
    const len = r.int32();
    params.push(len === -1 ? null : r.bytes(len));
  }
  const resultFormats: number[] = [];
  for (let i = 0, n = r.int16(); i < n; i++) resultFormats.push(r.int16());
  return { portal, statement, paramFormats, params, resultFormats };
}

/**
 * A Bind's portal and statement names, with the rest of the message checked exactly as decodeBind checks
 * it (a malformed Bind is refused the same way) but nothing else decoded: the parameters are only needed
 * for a portal that keeps them (an approval binds to them), and decodeBind gives them then.
 */
export function decodeBindNames(m: Uint8Array): { portal: string; statement: string } {
  const r = body(m);
  const portal = r.cstring();
  const statement = r.cstring();
  for (let i = 0, n = r.int16(); i < n; i++) r.skip(2);
  for (let i = 0, n = r.int16(); i < n; i++) {
    const len = r.int32();
    if (len !== -1) r.skip(len);
  }
  for (let i = 0, n = r.int16(); i < n; i++) r.skip(2);
  return { portal, statement };
}

export function decodeExecute(m: Uint8Array): { portal: string; maxRows: number } {
  const r = body(m);
  return { portal: r.cstring(), maxRows: r.int32() };
}

/** Describe ('D') and Close ('C') share a layout: 'S' statement or 'P' portal, then the name. */
export function decodeTarget(m: Uint8Array): { which: "S" | "P"; name: string } {
  const r = body(m);
  const which = String.fromCharCode(r.byte());
  if (which !== "S" && which !== "P")
    throw new CodecError("malformed", `invalid Describe/Close target ${which}`);
  return { which, name: r.cstring() };
}

/** PasswordMessage: a NUL-terminated string; tolerate a missing terminator as some clients do. */
export function decodePassword(m: Uint8Array): string {
  const raw = m.subarray(5);
  const end = raw.indexOf(0);
  return utf8.decode(end === -1 ? raw : raw.subarray(0, end));
}

// ---------------------------------------------------------------------------------------------------------
// Backend (server → client) messages the gateway inspects

export interface FieldDescription {
  name: string;
  tableOid: number;
  column: number;
  typeOid: number;
  typeSize: number;
  typeMod: number;
  format: number;
}

export function decodeRowDescription(m: Uint8Array): FieldDescription[] {
  const r = body(m);
  const fields: FieldDescription[] = [];
  for (let i = 0, n = r.int16(); i < n; i++) {
    fields.push({
      name: r.cstring(),
      tableOid: r.int32() >>> 0,
      column: r.int16(),
      typeOid: r.int32() >>> 0,
      typeSize: r.int16(),
      typeMod: r.int32(),
      format: r.int16(),
    });
  }
  return fields;
}

/** DataRow values as views into the message; null for SQL NULL. */
export function decodeDataRow(m: Uint8Array): (Uint8Array | null)[] {
  const r = body(m);
  const values: (Uint8Array | null)[] = [];
  for (let i = 0, n = r.int16(); i < n; i++) {
    const len = r.int32();
    values.push(len === -1 ? null : r.bytes(len));
  }
  return values;
}

export const decodeCommandComplete = (m: Uint8Array): string => body(m).cstring();

/** ErrorResponse / NoticeResponse fields keyed by their one-letter codes (S, V, C, M, D, H, P, …). */
export function decodeFields(m: Uint8Array): Record<string, string> {
  const r = body(m);
  const fields: Record<string, string> = {};
  for (;;) {
    const code = r.byte();
    if (code === 0) break;
    fields[String.fromCharCode(code)] = r.cstring();
  }
  return fields;
}

export type Authentication =
  | { kind: "ok" }
  | { kind: "cleartext" }
  | { kind: "md5"; salt: Uint8Array }
  | { kind: "sasl"; mechanisms: string[] }
  | { kind: "sasl-continue"; data: Uint8Array }
  | { kind: "sasl-final"; data: Uint8Array }
  | { kind: "other"; code: number };

export function decodeAuthentication(m: Uint8Array): Authentication {
  const r = body(m);
  const code = r.int32();
  switch (code) {
    case 0:
      return { kind: "ok" };
    case 3:
      return { kind: "cleartext" };
    case 5:
      return { kind: "md5", salt: r.bytes(4) };
    case 10: {
      const mechanisms: string[] = [];
      for (;;) {
        const mech = r.cstring();
        if (mech === "") break;
        mechanisms.push(mech);
      }
      return { kind: "sasl", mechanisms };
    }
    case 11:
      return { kind: "sasl-continue", data: r.rest() };
    case 12:
      return { kind: "sasl-final", data: r.rest() };
    default:
      return { kind: "other", code };
  }
}

export function decodeBackendKeyData(m: Uint8Array): { pid: number; secret: number } {
  const r = body(m);
  return { pid: r.int32(), secret: r.int32() };
}

export function decodeParameterStatus(m: Uint8Array): { name: string; value: string } {
  const r = body(m);
  return { name: r.cstring(), value: r.cstring() };
}

/** ReadyForQuery transaction status: 'I' idle, 'T' in a transaction block, 'E' in a failed one. */
export const decodeReadyForQuery = (m: Uint8Array): "I" | "T" | "E" =>
  String.fromCharCode(m[5] ?? 73) as "I" | "T" | "E";

// ---------------------------------------------------------------------------------------------------------
// Encoding

/** Grows as needed; `finish(type)` writes the length and returns the message. */
export class Writer {
  private buf = new Uint8Array(64);
  private view = new DataView(this.buf.buffer);
  private off = 5;

  private ensure(n: number) {
    if (this.off + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.off + n));
    next.set(this.buf);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  int32(v: number): this {
    this.ensure(4);
    this.view.setInt32(this.off, v);
    this.off += 4;
    return this;
  }
  int16(v: number): this {
    this.ensure(2);
    this.view.setInt16(this.off, v);
    this.off += 2;
    return this;
  }
  byte(v: number): this {
    this.ensure(1);
    this.buf[this.off++] = v;
    return this;
  }
  bytes(v: Uint8Array): this {
    this.ensure(v.length);
    this.buf.set(v, this.off);
    this.off += v.length;
    return this;
  }
  cstring(s: string): this {
    return this.bytes(utf8enc.encode(s)).byte(0);
  }
  /** A typed message: type byte, int32 length, body. */
  finish(type: string): Uint8Array {
    this.buf[0] = type.charCodeAt(0);
    this.view.setInt32(1, this.off - 1);
    return this.buf.slice(0, this.off);
  }
  /** An untyped packet (startup, SSLRequest, CancelRequest): int32 length, body. */
  finishUntyped(): Uint8Array {
    const out = this.buf.slice(1, this.off);
    new DataView(out.buffer).setInt32(0, out.length);
    return out;
  }
}

const w = () => new Writer();

export interface ErrorFields {
  severity?: "ERROR" | "FATAL" | "PANIC" | "WARNING" | "NOTICE" | "INFO" | "LOG";
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  /** 'P': 1-based character position in the query string (protocol-error-fields). */
  position?: number;
}

function fields(type: "E" | "N", f: ErrorFields): Uint8Array {
  const sev = f.severity ?? (type === "E" ? "ERROR" : "NOTICE");
  const out = w()
    .byte(83)
    .cstring(sev)
    .byte(86)
    .cstring(sev)
    .byte(67)
    .cstring(f.code)
    .byte(77)
    .cstring(f.message);
  if (f.detail) out.byte(68).cstring(f.detail);
  if (f.hint) out.byte(72).cstring(f.hint);
  if (f.position !== undefined) out.byte(80).cstring(String(f.position));
  return out.byte(0).finish(type);
}

export const errorResponse = (f: ErrorFields) => fields("E", f);
export const noticeResponse = (f: ErrorFields) => fields("N", f);
export const authenticationOk = w().int32(0).finish("R");
export const authenticationCleartextPassword = w().int32(3).finish("R");
export const backendKeyData = (pid: number, secret: number) => w().int32(pid).int32(secret).finish("K");
export const parameterStatus = (name: string, value: string) => w().cstring(name).cstring(value).finish("S");
export const readyForQuery = (status: "I" | "T" | "E") => w().byte(status.charCodeAt(0)).finish("Z");
export const emptyQueryResponse = w().finish("I");
export const commandComplete = (tag: string) => w().cstring(tag).finish("C");

export const sslRequest = w().int32(SSL_REQUEST_CODE).finishUntyped();
export const cancelRequest = (pid: number, secret: number) =>
  w().int32(CANCEL_REQUEST_CODE).int32(pid).int32(secret).finishUntyped();
export function startupMessage(params: Record<string, string>): Uint8Array {
  const out = w().int32(PROTOCOL_3_0);
  for (const [k, v] of Object.entries(params)) out.cstring(k).cstring(v);
  return out.byte(0).finishUntyped();
}
export const passwordMessage = (password: string) => w().cstring(password).finish("p");
export const saslInitialResponse = (mechanism: string, data: Uint8Array) =>
  w().cstring(mechanism).int32(data.length).bytes(data).finish("p");
export const saslResponse = (data: Uint8Array) => w().bytes(data).finish("p");
export const query = (text: string) => w().cstring(text).finish("Q");
export const sync = w().finish("S");
export const terminate = w().finish("X");

/** One copy of several views, in order. */
export function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
