// WebSocket framing (RFC 6455 §5.2) for the exec/attach/port-forward relay: an incremental parser that
// hands out whole frames (payload unmasked) with their raw bytes, and an encoder for the frames the
// gateway rewrites. Pure; linear in the bytes fed; a frame longer than the bound is an error before any
// of it is buffered (ENFORCEMENT.md §7).

// Opcodes, RFC 6455 §5.2 / §11.8.
export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

export interface WsFrame {
  fin: boolean;
  opcode: number;
  /** Unmasked payload. */
  payload: Uint8Array;
  /** The frame exactly as it arrived. */
  raw: Uint8Array;
}

export class WsFrameError extends Error {}

export class WsFrameParser {
  private buf: Uint8Array = new Uint8Array(0);

  /** `expectMasked`: client-to-server frames must be masked and server-to-client ones must not (§5.1). */
  constructor(
    private readonly expectMasked: boolean,
    private readonly maxPayload: number,
  ) {}

  /** Frames completed by `chunk`, in order. Throws WsFrameError on a frame the RFC forbids. */
  push(chunk: Uint8Array): WsFrame[] {
    this.buf = this.buf.length === 0 ? chunk : concat(this.buf, chunk);
    const frames: WsFrame[] = [];
    let at = 0;
    for (;;) {
      const f = this.frameAt(at);
      if (f === null) break;
      frames.push(f.frame);
      at = f.end;
    }
    this.buf = at === 0 ? this.buf : new Uint8Array(this.buf.subarray(at));
    return frames;
  }

  private frameAt(at: number): { frame: WsFrame; end: number } | null {
    const b = this.buf;
    if (b.length - at < 2) return null;
    const b0 = b[at]!;
    const b1 = b[at + 1]!;
    if ((b0 & 0x70) !== 0) throw new WsFrameError("reserved bits set (no extension was negotiated)");
    const opcode = b0 & 0x0f;
    if (![OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG].includes(opcode))
      throw new WsFrameError(`unknown opcode ${opcode}`);
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.expectMasked)
      throw new WsFrameError(this.expectMasked ? "a client frame is not masked" : "a server frame is masked");
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      if (b.length - at < 4) return null;
      len = (b[at + 2]! << 8) | b[at + 3]!;
      head = 4;
    } else if (len === 127) {
      if (b.length - at < 10) return null;
      const hi = (b[at + 2]! << 24) | (b[at + 3]! << 16) | (b[at + 4]! << 8) | b[at + 5]!;
      if (hi !== 0) throw new WsFrameError("frame too large");
      len = ((b[at + 6]! << 24) >>> 0) + ((b[at + 7]! << 16) | (b[at + 8]! << 8) | b[at + 9]!);
      head = 10;
    }
    if (opcode >= 0x8 && (len > 125 || (b0 & 0x80) === 0))
      throw new WsFrameError("a control frame is fragmented or longer than 125 bytes");
    if (len > this.maxPayload) throw new WsFrameError(`frame of ${len} bytes exceeds ${this.maxPayload}`);
    const keyAt = at + head;
    const dataAt = keyAt + (masked ? 4 : 0);
    const end = dataAt + len;
    if (b.length < end) return null;
    // A copy (Buffer#slice would be a view): unmasking must never touch the bytes being forwarded.
    const payload = new Uint8Array(b.subarray(dataAt, end));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= b[keyAt + (i & 3)]!;
    return { frame: { fin: (b0 & 0x80) !== 0, opcode, payload, raw: b.subarray(at, end) }, end };
  }
}

/** One unmasked (server-to-client) frame. */
export function encodeFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = new Uint8Array(head + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (head === 2) out[1] = len;
  else if (head === 4) {
    out[1] = 126;
    out[2] = len >> 8;
    out[3] = len & 0xff;
  } else {
    out[1] = 127;
    const view = new DataView(out.buffer);
    view.setUint32(2, 0);
    view.setUint32(6, len);
  }
  out.set(payload, head);
  return out;
}

/**
 * Reassembles fragmented data messages (§5.4): data frames in, whole messages out; control frames come
 * out at once, as they may arrive between fragments.
 */
export class WsMessages {
  private opcode = -1;
  private parts: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly maxMessage: number) {}

  push(f: WsFrame): { opcode: number; payload: Uint8Array } | null {
    if (f.opcode >= 0x8) return { opcode: f.opcode, payload: f.payload };
    if (f.opcode === OP_CONTINUATION) {
      if (this.opcode === -1) throw new WsFrameError("a continuation frame without a message");
    } else {
      if (this.opcode !== -1) throw new WsFrameError("a new message inside a fragmented one");
      this.opcode = f.opcode;
    }
    this.size += f.payload.length;
    if (this.size > this.maxMessage) throw new WsFrameError(`message exceeds ${this.maxMessage} bytes`);
    this.parts.push(f.payload);
    if (!f.fin) return null;
    const payload = this.parts.length === 1 ? this.parts[0]! : concatAll(this.parts, this.size);
    const opcode = this.opcode;
    this.opcode = -1;
    this.parts = [];
    this.size = 0;
    return { opcode, payload };
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function concatAll(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
