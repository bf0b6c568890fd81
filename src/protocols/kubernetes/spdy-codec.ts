// SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 §2.2, as k8s.io/streaming's spdystream speaks it) for
// the legacy exec/port-forward upgrades and the port-forward tunnel inside WebSocket: frames are split
// by their 8-byte header only. Header blocks stay compressed (they name each stream's type; the relay
// records data per stream id instead). Pure and linear; a frame past the bound is an error first.

export interface SpdyFrame {
  control: boolean;
  /** Control frames: SYN_STREAM 1, SYN_REPLY 2, RST_STREAM 3, SETTINGS 4, PING 6, GOAWAY 7, HEADERS 8,
   *  WINDOW_UPDATE 9. */
  type: number;
  /** Data frames: the stream; SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS: the stream they name. */
  streamId: number;
  flags: number;
  data: Uint8Array;
  raw: Uint8Array;
}

// Frame types that carry a stream id in their first four bytes (§2.6).
const STREAM_CONTROL = new Set([1, 2, 3, 8, 9]);
export const FLAG_FIN = 0x01;

export class SpdyFrameError extends Error {}

export class SpdyFrameParser {
  private buf: Uint8Array = new Uint8Array(0);

  constructor(private readonly maxFrame: number) {}

  push(chunk: Uint8Array): SpdyFrame[] {
    this.buf = this.buf.length === 0 ? chunk : concat(this.buf, chunk);
    const out: SpdyFrame[] = [];
    let at = 0;
    const b = this.buf;
    while (b.length - at >= 8) {
      const len = (b[at + 5]! << 16) | (b[at + 6]! << 8) | b[at + 7]!;
      if (len > this.maxFrame)
        throw new SpdyFrameError(`SPDY frame of ${len} bytes exceeds ${this.maxFrame}`);
      if (b.length - at < 8 + len) break;
      const control = (b[at]! & 0x80) !== 0;
      const flags = b[at + 4]!;
      const data = b.subarray(at + 8, at + 8 + len);
      let type = 0;
      let streamId: number;
      if (control) {
        const version = ((b[at]! & 0x7f) << 8) | b[at + 1]!;
        if (version !== 3) throw new SpdyFrameError(`SPDY version ${version} (only 3 is spoken)`);
        type = (b[at + 2]! << 8) | b[at + 3]!;
        streamId = STREAM_CONTROL.has(type) && len >= 4 ? readStreamId(data, 0) : 0;
      } else {
        streamId = readStreamId(b, at);
      }
      out.push({ control, type, streamId, flags, data, raw: b.subarray(at, at + 8 + len) });
      at += 8 + len;
    }
    this.buf = at === 0 ? this.buf : new Uint8Array(this.buf.subarray(at));
    return out;
  }
}

function readStreamId(b: Uint8Array, at: number): number {
  return (((b[at]! & 0x7f) << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** A data frame for `streamId` (§2.2.2), for payloads the gateway rewrote. */
export function encodeDataFrame(streamId: number, flags: number, data: Uint8Array): Uint8Array {
  if (data.length > 0xffffff) throw new SpdyFrameError("SPDY data frame too large");
  const out = new Uint8Array(8 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, streamId & 0x7fffffff);
  out[4] = flags;
  out[5] = data.length >> 16;
  out[6] = (data.length >> 8) & 0xff;
  out[7] = data.length & 0xff;
  out.set(data, 8);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
