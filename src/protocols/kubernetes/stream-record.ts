// Parses a copy of each direction of an upgraded stream for the session recording, and for a masked
// caller rewrites exec output. Frames recorded: `stdin`, `stdout`, `stderr` (bytes), `resize` and
// `status` (the error channel's metav1.Status: exit code), port-forward `tunnel` data per channel or
// SPDY stream. The recording holds what the client received (masked output for a masked caller).
import type { Direction } from "../../core/frame.ts";
import type { GatewaySession } from "../../core/session.ts";
import { maskText } from "../http/text-mask.ts";
import type { UpgradeKind } from "./command.ts";
import type { ResponseMaskPlan } from "./mask.ts";
import { encodeDataFrame, SpdyFrameParser } from "./spdy-codec.ts";
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

const decoder = new TextDecoder();

export function streamRecorder(opts: StreamRecorderOptions): StreamRecorder {
  const { session, plan } = opts;
  const detectors = plan?.plans ?? null;
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

  // One SPDY parser per direction: legacy upgrades, or the port-forward tunnel's bytes inside WebSocket.
  const spdy = { client: new SpdyFrameParser(opts.maxFrame), server: new SpdyFrameParser(opts.maxFrame) };
  const spdyBytes = (dir: Direction, data: Uint8Array, rewrite: boolean): Uint8Array => {
    const frames = spdy[dir].push(data);
    if (!rewrite) {
      for (const f of frames) if (!f.control && f.data.length > 0) recordSpdy(dir, f.streamId, f.data);
      return data;
    }
    const out: Uint8Array[] = [];
    for (const f of frames) {
      if (f.control || f.data.length === 0) {
        out.push(f.raw);
        continue;
      }
      const masked = maskText(detectors!, f.data);
      recordSpdy(dir, f.streamId, masked);
      out.push(encodeDataFrame(f.streamId, f.flags, masked));
    }
    return join(out);
  };
  const recordSpdy = (dir: Direction, stream: number, data: Uint8Array) => {
    count("data", data.length);
    session.record({ t: Date.now() * 1000, dir, kind: "data", data: { stream, bytes: data } }, data.length);
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
      if (rewrite && channelMode && (channel === STDOUT || channel === STDERR || channel === ERROR)) {
        data = maskText(detectors!, data);
        const payload = new Uint8Array(data.length + 1);
        payload[0] = channel;
        payload.set(data, 1);
        out.push(encodeFrame(OP_BINARY, payload));
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
