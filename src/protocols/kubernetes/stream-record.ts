// Parses a copy of each direction of an upgraded stream for the session recording, and for a masked
// caller rewrites exec output. Frames recorded: `stdin`, `stdout`, `stderr` (bytes), `resize` and
// `status` (the error channel's metav1.Status: exit code), port-forward `tunnel` data per channel or
// SPDY stream. The recording holds what the client received (masked output for a masked caller).
import type { Direction } from "../../core/frame.ts";
import type { GatewaySession } from "../../core/session.ts";
import { maskText, TextStreamMasker } from "../../masking/text-mask.ts";
import type { UpgradeKind } from "./command.ts";
import type { ResponseMaskPlan } from "./mask.ts";
import { encodeDataFrame, type SpdyFrame, SpdyFrameParser } from "./spdy-codec.ts";
import { headerBlockOffset, SpdyHeaderDecoder } from "./spdy-headers.ts";
import { encodeFrame, OP_BINARY, WsFrameParser, WsMessages } from "./ws-codec.ts";

export interface StreamRecorder {
  /** The bytes to forward for `chunk` (the chunk itself unless output was masked). Throws on bad framing. */
  push(dir: Direction, chunk: Uint8Array): Uint8Array;
  fail(message: string): void;
  outcome(): { error?: string; detail: Record<string, unknown> };
}

export interface StreamRecorderOptions {
  session: GatewaySession;
  kind: UpgradeKind;
  /** The negotiated subprotocol (Sec-WebSocket-Protocol or X-Stream-Protocol-Version). */
  protocol: string;
  plan: ResponseMaskPlan | null;
  maxFrame: number;
}

// remotecommand channels (k8s.io/apimachinery/pkg/util/remotecommand; wsstream channel protocol).
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;
const CHANNEL_KINDS: Record<number, string> = { [STDIN]: "stdin", [STDOUT]: "stdout", [STDERR]: "stderr" };
// SPDY streams by `streamtype` (k8s.io/apimachinery remotecommand constants).
const SPDY_KINDS: Record<string, string> = {
  stdin: "stdin",
  stdout: "stdout",
  stderr: "stderr",
  error: "status",
  resize: "resize",
};

const decoder = new TextDecoder();

export function streamRecorder(opts: StreamRecorderOptions): StreamRecorder {
  const { session, plan } = opts;
  const detectors = plan?.plans ?? null;
  // Output is masked as a stream per channel (WebSocket) or stream id (SPDY): a value split across two
  // messages or frames is still caught. What a masker holds back goes out with the next output, when the
  // command's status arrives, or at the stream's end.
  const maskers = new Map<number, TextStreamMasker>();
  const maskerFor = (id: number) => {
    let m = maskers.get(id);
    if (!m) {
      m = new TextStreamMasker(detectors!, opts.maxFrame);
      maskers.set(id, m);
    }
    return m;
  };
  let error: string | undefined;
  let exitCode: number | null = null;
  let statusText: string | null = null;
  const bytes: Record<string, number> = {};
  const count = (kind: string, n: number) => {
    bytes[kind] = (bytes[kind] ?? 0) + n;
  };
  const channelMode = opts.protocol.endsWith("channel.k8s.io");
  const spdyTunnel = opts.kind === "websocket" && opts.protocol.startsWith("SPDY/3.1+");

  const recordChannel = (dir: Direction, channel: number, data: Uint8Array) => {
    const t = Date.now() * 1000;
    if (!channelMode) {
      count("tunnel", data.length);
      session.record({ t, dir, kind: "tunnel", data: { channel, bytes: data } }, data.length);
      return;
    }
    const kind = CHANNEL_KINDS[channel];
    if (kind) {
      count(kind, data.length);
      session.recordBytes(dir, t, kind, data);
    } else if (channel === RESIZE) {
      session.record({ t, dir, kind: "resize", data: { text: decoder.decode(data) } });
    } else if (channel === ERROR) {
      statusText = decoder.decode(data);
      exitCode = exitCodeOf(statusText);
      session.record({ t, dir, kind: "status", data: { text: statusText, exit_code: exitCode } });
    } else if (channel === CLOSE) {
      session.record({ t, dir, kind: "close", data: { channel: data[0] ?? null } });
    }
  };

  // One SPDY parser and header decoder per direction: legacy upgrades, or the port-forward tunnel's bytes
  // inside WebSocket. Streams are typed by their SYN_STREAM headers (`streamtype`, port-forward's `port`).
  const spdy = { client: new SpdyFrameParser(opts.maxFrame), server: new SpdyFrameParser(opts.maxFrame) };
  const headers = { client: new SpdyHeaderDecoder(), server: new SpdyHeaderDecoder() };
  const streams = new Map<number, { type: string; port?: string }>();
  const learn = (dir: Direction, f: SpdyFrame) => {
    const offset = headerBlockOffset(f.type);
    if (offset === null || f.data.length < offset) return;
    const pairs = headers[dir].decode(f.data.subarray(offset));
    if (pairs?.streamtype) streams.set(f.streamId, { type: pairs.streamtype, port: pairs.port });
  };
  // An output stream whose type is unknown (its headers could not be read) is masked like stdout.
  const isOutput = (id: number) => {
    const t = streams.get(id)?.type;
    return t === undefined || t === "stdout" || t === "stderr" || t === "error";
  };
  const spdyBytes = (dir: Direction, data: Uint8Array, rewrite: boolean): Uint8Array => {
    const frames = spdy[dir].push(data);
    const out: Uint8Array[] = [];
    for (const f of frames) {
      if (f.control) learn(dir, f);
      if (f.control || f.data.length === 0) {
        if (rewrite) out.push(f.raw);
        continue;
      }
      if (rewrite && isOutput(f.streamId)) {
        const masker = maskerFor(f.streamId);
        let masked = masker.push(f.data);
        // FLAG_FIN (SPDY/3 §2.2.2) ends the stream: what the masker held goes out with it.
        if (f.flags & 0x01) masked = joinTwo(masked, masker.end());
        if (masked.length > 0) recordSpdy(dir, f.streamId, masked);
        if (masked.length > 0 || f.flags & 0x01) out.push(encodeDataFrame(f.streamId, f.flags, masked));
      } else {
        recordSpdy(dir, f.streamId, f.data);
        if (rewrite) out.push(f.raw);
      }
    }
    return rewrite ? join(out) : data;
  };
  const recordSpdy = (dir: Direction, stream: number, data: Uint8Array) => {
    const known = streams.get(stream);
    const t = Date.now() * 1000;
    // exec/attach streams are recorded as the channels they are, so they replay like WebSocket ones.
    if (channelMode && known && known.type in SPDY_KINDS) {
      const kind = SPDY_KINDS[known.type]!;
      if (kind === "resize") session.record({ t, dir, kind, data: { text: decoder.decode(data) } });
      else if (kind === "status") {
        statusText = decoder.decode(data);
        exitCode = exitCodeOf(statusText);
        session.record({ t, dir, kind, data: { text: statusText, exit_code: exitCode } });
      } else {
        count(kind, data.length);
        session.recordBytes(dir, t, kind, data);
      }
      return;
    }
    count("data", data.length);
    session.record(
      {
        t,
        dir,
        kind: "data",
        data: { stream, type: known?.type ?? null, port: known?.port ?? null, bytes: data },
      },
      data.length,
    );
  };

  const ws = {
    client: { frames: new WsFrameParser(true, opts.maxFrame), messages: new WsMessages(opts.maxFrame) },
    server: { frames: new WsFrameParser(false, opts.maxFrame), messages: new WsMessages(opts.maxFrame) },
  };
  const wsBytes = (dir: Direction, chunk: Uint8Array): Uint8Array => {
    const rewrite = dir === "server" && detectors !== null;
    const out: Uint8Array[] = [];
    let held: Uint8Array[] = [];
    for (const frame of ws[dir].frames.push(chunk)) {
      const message = ws[dir].messages.push(frame);
      if (frame.opcode < 0x8) held.push(frame.raw);
      if (message === null) continue;
      const raws = frame.opcode >= 0x8 ? [frame.raw] : held;
      if (frame.opcode < 0x8) held = [];
      if (message.opcode !== OP_BINARY || message.payload.length === 0) {
        if (rewrite) out.push(...raws);
        continue;
      }
      if (spdyTunnel) {
        // No masked caller gets a port-forward; the SPDY bytes are recorded, never rewritten.
        spdyBytes(dir, message.payload, false);
        continue;
      }
      const channel = message.payload[0]!;
      let data = message.payload.subarray(1);
      if (rewrite && channelMode && (channel === STDOUT || channel === STDERR)) {
        data = maskerFor(channel).push(data);
        if (data.length > 0) {
          out.push(channelMessage(channel, data));
          recordChannel(dir, channel, data);
        }
        continue;
      }
      if (rewrite && channelMode && channel === ERROR) {
        // The command's status: what the output maskers held goes out before it. The status is one message.
        for (const held of [STDOUT, STDERR]) {
          const rest = maskers.get(held)?.end();
          if (rest && rest.length > 0) {
            out.push(channelMessage(held, rest));
            recordChannel(dir, held, rest);
          }
        }
        data = maskText(detectors!, data);
        out.push(channelMessage(channel, data));
      } else if (rewrite) out.push(...raws);
      recordChannel(dir, channel, data);
    }
    // Fragments of a message still open are forwarded once it completes (its rewrite needs all of it).
    if (!rewrite) return chunk;
    return join(out);
  };

  return {
    push(dir, chunk) {
      if (opts.kind === "spdy") return spdyBytes(dir, chunk, dir === "server" && detectors !== null);
      return wsBytes(dir, chunk);
    },
    fail(message) {
      error ??= message;
    },
    outcome() {
      return {
        ...(error ? { error } : {}),
        detail: { bytes, ...(exitCode !== null ? { exit_code: exitCode } : {}) },
      };
    },
  };
}

/** The exit code in the error channel's Status: 0 on Success, the ExitCode cause's message on failure. */
export function exitCodeOf(text: string): number | null {
  try {
    const s = JSON.parse(text) as {
      status?: string;
      details?: { causes?: { reason?: string; message?: string }[] };
    };
    if (s.status === "Success") return 0;
    const cause = s.details?.causes?.find((c) => c.reason === "ExitCode");
    return cause?.message !== undefined && /^\d+$/.test(cause.message) ? Number(cause.message) : null;
  } catch {
    return null;
  }
}

function join(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function channelMessage(channel: number, data: Uint8Array): Uint8Array {
  const payload = new Uint8Array(data.length + 1);
  payload[0] = channel;
  payload.set(data, 1);
  return encodeFrame(OP_BINARY, payload);
}

function joinTwo(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
