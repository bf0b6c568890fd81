// WebSocket relay: the upstream socket is opened first (with the injected credential), and only when it
// is open is the client's upgrade accepted, so an unreachable upstream is an ordinary 502. Each client
// message is a command of its own, decided before it is forwarded (the policy sees the message, parsed
// when it is JSON); messages are decided and forwarded in order. Each server message is scrubbed of the
// credential and, for a masked identity, masked (JSON by the decision's rules, other text by detectors
// and key names); a binary message cannot be masked and ends the socket unless the connection lists
// application/octet-stream in `unmasked_types`. Every message is recorded (capped) as a frame.
import type { ServerWebSocket } from "bun";
import { nowMicros } from "../../core/clock.ts";
import type { Command, CommandOutcome, HttpRequestInfo } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import { maskText } from "../../masking/text-mask.ts";
import { shapeOf } from "./request.ts";
import type { ResponseMasking } from "./response.ts";
import { type Scrubber, scrubBytes, scrubText } from "./scrub.ts";
import type { RequestHold } from "./sessions.ts";

export interface WsData {
  upstream: WebSocket;
  hold: RequestHold;
  command: Command;
  decision: Decision;
  masking: ResponseMasking | null;
  scrubber: Scrubber | null;
  /** Binary server messages may reach a masked identity unmasked. */
  unmaskedBinary: boolean;
  /** The client messages' decisions, chained so they are forwarded in order. */
  pending: Promise<void>;
  started: number;
  recordCap: number;
  /** Messages from the upstream that arrived before the client socket opened. */
  early: (string | Uint8Array)[] | null;
  client: ServerWebSocket<WsData> | null;
  bytesIn: number;
  bytesOut: number;
  messages: number;
  done: boolean;
}

/** RFC 6455 §7.4.1: 1008 policy violation. */
const POLICY_VIOLATION = 1008;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Opens the upstream socket; resolves when it is open, rejects with upstream.unreachable otherwise. */
export function connectUpstream(
  url: string,
  headers: Headers,
  protocols: string[],
  timeoutMs: number,
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const init = { headers: Object.fromEntries(headers), ...(protocols.length ? { protocols } : {}) };
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, init as unknown as string[]);
    } catch (err) {
      reject(
        new CustosError("upstream.unreachable", "the upstream WebSocket cannot be opened", {
          error: String(err),
        }),
      );
      return;
    }
    ws.binaryType = "arraybuffer";
    const timer = setTimeout(() => {
      ws.close();
      reject(new CustosError("upstream.timeout", "the upstream did not accept the WebSocket in time"));
    }, timeoutMs);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve(ws);
    };
    ws.onerror = () => {
      clearTimeout(timer);
      reject(new CustosError("upstream.unreachable", "the upstream refused the WebSocket"));
    };
  });
}

/** A server message as the client may see it; null when it cannot be masked (the socket then ends). */
function serverMessage(data: WsData, msg: string | ArrayBuffer): string | Uint8Array | null {
  if (typeof msg === "string") {
    let text = msg;
    const m = data.masking;
    if (m) {
      let json: unknown;
      let parsed = false;
      try {
        json = JSON.parse(text);
        parsed = true;
      } catch {}
      text = parsed
        ? JSON.stringify(m.json.mask(json))
        : decoder.decode(maskText(m.plans, encoder.encode(text)));
    }
    return data.scrubber ? scrubText(data.scrubber, text) : text;
  }
  if (data.masking && !data.unmaskedBinary) return null;
  const bytes = new Uint8Array(msg);
  return data.scrubber ? scrubBytes(data.scrubber, bytes) : bytes;
}

/** Wires the upstream socket to the data record before the client upgrade completes. */
export function attachUpstream(data: WsData): void {
  const up = data.upstream;
  up.onmessage = (ev: MessageEvent) => {
    if (data.done) return;
    const out = serverMessage(data, ev.data as string | ArrayBuffer);
    if (out === null) {
      record(data, "server", new Uint8Array(0), { refused: "binary message for a masked identity" });
      end(data, "binary messages cannot be masked", "unmaskable_message");
      return;
    }
    record(data, "server", out);
    if (data.client) data.client.send(out);
    else data.early?.push(out);
  };
  up.onclose = (ev: CloseEvent) => {
    data.client?.close(sendableCode(ev.code), ev.reason);
    finish(data, "upstream_closed", ev.code);
  };
  up.onerror = () => {
    data.client?.close(1011, "upstream error");
    finish(data, "upstream_error", 1011);
  };
}

/** Ends both sockets for a policy reason. */
function end(data: WsData, reason: string, why: string): void {
  data.client?.close(POLICY_VIOLATION, reason.slice(0, 120));
  if (data.upstream.readyState === WebSocket.OPEN || data.upstream.readyState === WebSocket.CONNECTING)
    data.upstream.close(1000, "");
  finish(data, why, POLICY_VIOLATION);
}

/** The command one client message is decided as: the handshake's request plus the message. */
function messageCommand(data: WsData, msg: string | Uint8Array): Command {
  const base = data.command.http!;
  const http: HttpRequestInfo = { ...base, websocket: "message" };
  if (typeof msg === "string") {
    try {
      http.body = JSON.parse(msg);
    } catch {
      http.body = msg;
    }
  } else http.body_skipped = "binary";
  return {
    protocol: "http",
    text: `${base.method} ${base.path} (message)`,
    keyword: "message",
    http,
    shape: shapeOf(http),
  };
}

async function clientMessage(data: WsData, msg: string | Uint8Array): Promise<void> {
  if (data.done) return;
  const session = data.hold.pooled.session;
  const started = nowMicros();
  const command = messageCommand(data, msg);
  const decision = await session.decide(command);
  record(data, "client", msg);
  const outcome = (detail: Record<string, unknown>): CommandOutcome => ({
    tag: "message",
    rows: 0,
    durationUs: nowMicros() - started,
    detail,
  });
  if (decision.action !== "allow") {
    session.completed(command, decision, outcome({ forwarded: false }));
    const why = decision.action === "review" ? "approval required" : decision.reason || "denied by policy";
    end(data, `${why} (${decision.rule})`, "message_refused");
    return;
  }
  if (decision.record === "sync") await session.durable();
  if (data.done) return;
  if (data.upstream.readyState === WebSocket.OPEN) data.upstream.send(msg);
  session.completed(command, decision, outcome({ forwarded: true }));
}

export const websocketHandler = {
  open(ws: ServerWebSocket<WsData>) {
    const data = ws.data;
    data.client = ws;
    for (const m of data.early ?? []) ws.send(m);
    data.early = null;
  },
  message(ws: ServerWebSocket<WsData>, message: string | Buffer) {
    const data = ws.data;
    const msg = typeof message === "string" ? message : new Uint8Array(message);
    data.pending = data.pending
      .then(() => clientMessage(data, msg))
      .catch((err) => end(data, "the message could not be decided", `decide_failed: ${String(err)}`));
  },
  close(ws: ServerWebSocket<WsData>, code: number, reason: string) {
    const data = ws.data;
    if (data.upstream.readyState === WebSocket.OPEN || data.upstream.readyState === WebSocket.CONNECTING) {
      data.upstream.close(sendableCode(code), reason);
    }
    finish(data, "client_closed", code);
  },
};

function record(
  data: WsData,
  dir: "client" | "server",
  msg: string | Uint8Array,
  extra: Record<string, unknown> = {},
): void {
  const size = typeof msg === "string" ? Buffer.byteLength(msg) : msg.byteLength;
  if (dir === "client") data.bytesIn += size;
  else data.bytesOut += size;
  data.messages++;
  const body = typeof msg === "string" ? msg.slice(0, data.recordCap) : msg.slice(0, data.recordCap);
  data.hold.pooled.session.record({
    t: nowMicros(),
    dir,
    kind: "ws_message",
    data: { bytes: size, body, ...extra },
  });
}

function finish(data: WsData, end: string, code: number): void {
  if (data.done) return;
  data.done = true;
  const p = data.hold.pooled;
  p.stats.bytesFromClient += data.bytesIn;
  p.stats.bytesToClient += data.bytesOut;
  const outcome: CommandOutcome = {
    tag: "101",
    rows: 0,
    durationUs: nowMicros() - data.started,
    detail: {
      status: 101,
      end,
      close_code: code,
      messages: data.messages,
      bytes_in: data.bytesIn,
      bytes_out: data.bytesOut,
      ...(data.masking ? { masking: data.masking.json.evidence } : {}),
    },
  };
  data.hold.complete(data.command, data.decision, outcome);
}

/** 1005 and 1006 are reported, never sent (RFC 6455 §7.4.1). */
function sendableCode(code: number): number {
  return code === 1005 || code === 1006 || code < 1000 ? 1000 : code;
}
