// WebSocket relay: the upstream socket is opened first (with the injected credential), and only when it
// is open is the client's upgrade accepted, so an unreachable upstream is an ordinary 502. Messages then
// flow both ways unchanged; each is recorded (capped) as a frame, and the exchange's audit event is
// written when either side closes.
import type { ServerWebSocket } from "bun";
import { nowMicros } from "../../core/clock.ts";
import type { Command, CommandOutcome } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { RequestHold } from "./sessions.ts";

export interface WsData {
  upstream: WebSocket;
  hold: RequestHold;
  command: Command;
  decision: Decision;
  started: number;
  recordCap: number;
  /** Messages from the upstream that arrived before the client socket opened. */
  early: (string | ArrayBuffer)[] | null;
  client: ServerWebSocket<WsData> | null;
  bytesIn: number;
  bytesOut: number;
  messages: number;
  done: boolean;
}

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

/** Wires the upstream socket to the data record before the client upgrade completes. */
export function attachUpstream(data: WsData): void {
  const up = data.upstream;
  up.onmessage = (ev: MessageEvent) => {
    const msg = ev.data as string | ArrayBuffer;
    record(data, "server", msg);
    if (data.client) data.client.send(msg);
    else data.early?.push(msg);
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
    record(data, "client", msg);
    if (data.upstream.readyState === WebSocket.OPEN) data.upstream.send(msg);
  },
  close(ws: ServerWebSocket<WsData>, code: number, reason: string) {
    const data = ws.data;
    if (data.upstream.readyState === WebSocket.OPEN || data.upstream.readyState === WebSocket.CONNECTING) {
      data.upstream.close(sendableCode(code), reason);
    }
    finish(data, "client_closed", code);
  },
};

function record(data: WsData, dir: "client" | "server", msg: string | ArrayBuffer | Uint8Array): void {
  const size = typeof msg === "string" ? Buffer.byteLength(msg) : msg.byteLength;
  if (dir === "client") data.bytesIn += size;
  else data.bytesOut += size;
  data.messages++;
  const body =
    typeof msg === "string"
      ? msg.slice(0, data.recordCap)
      : new Uint8Array(
          msg instanceof ArrayBuffer ? msg : msg.buffer,
          msg instanceof ArrayBuffer ? 0 : msg.byteOffset,
          Math.min(size, data.recordCap),
        ).slice();
  data.hold.pooled.session.record({ t: nowMicros(), dir, kind: "ws_message", data: { bytes: size, body } });
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
    },
  };
  data.hold.complete(data.command, data.decision, outcome);
}

/** 1005 and 1006 are reported, never sent (RFC 6455 §7.4.1). */
function sendableCode(code: number): number {
  return code === 1005 || code === 1006 || code < 1000 ? 1000 : code;
}
