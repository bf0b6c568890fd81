// Shared pieces of the policy end-to-end tests: the audit trail read back from the gateway's own store,
// a minimal wire client for message sequences real drivers never send, and polling helpers.
import { connect, type Socket } from "node:net";
import { decodeEvent } from "../../src/audit/codec.ts";
import { openStore, type StoredEvent } from "../../src/audit/store.ts";
import { storeUrl } from "../../src/gateway.ts";
import type { TestGateway } from "../support/gateway.ts";

/** Polls `check` until it returns a value (not undefined) or the time runs out. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await Bun.sleep(25);
  }
}

/** A libpq URL with an application name, which is how tests find their session in the audit store. */
export function appUrl(gw: TestGateway, token: string, application: string): string {
  return `${gw.url(token)}&application_name=${encodeURIComponent(application)}`;
}

export interface AuditReader {
  /** Every event of the sessions opened with this application name, in log order. */
  events(application: string): Promise<StoredEvent[]>;
  /** The `statement` events of those sessions, waiting until at least `min` are committed. */
  statements(application: string, min?: number): Promise<Record<string, unknown>[]>;
  /** Events of a type outside sessions (policy.reload, gateway.start). */
  gatewayEvents(type: string): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

export async function auditReader(gw: TestGateway): Promise<AuditReader> {
  const store = await openStore(storeUrl(gw.config));
  const events = async (application: string) => {
    const sessions = await store.listSessions({ limit: 1000 });
    const out: StoredEvent[] = [];
    for (const s of sessions.filter((x) => x.application === application).reverse()) {
      out.push(...(await store.sessionEvents(s.id)));
    }
    return out;
  };
  return {
    events,
    async statements(application, min = 1) {
      return eventually(async () => {
        const found = (await events(application)).filter((e) => e.type === "statement").map((e) => e.data);
        return found.length >= min ? found : undefined;
      });
    },
    async gatewayEvents(type) {
      const [log] = await store.logs();
      if (!log) return [];
      const size = await store.logSize(log.logId);
      const rows = await store.readEvents(log.logId, 0, size);
      return rows
        .filter((r) => r.type === type)
        .map((r): StoredEvent => ({ logId: r.logId, seq: r.seq, ...decodeEvent(r.body) }));
    },
    close: () => store.close(),
  };
}

// --- a minimal wire client --------------------------------------------------------------------------------

const enc = new TextEncoder();
const cstr = (s: string) => [...enc.encode(s), 0];
const i16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const i32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

function message(type: string, body: number[]): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

export const wire = {
  parse: (name: string, sql: string) => message("P", [...cstr(name), ...cstr(sql), ...i16(0)]),
  /** Binds text parameters to a statement, results in text. */
  bind: (statement: string, params: string[] = []) =>
    message("B", [
      ...cstr(""),
      ...cstr(statement),
      ...i16(0),
      ...i16(params.length),
      ...params.flatMap((p) => {
        const bytes = [...enc.encode(p)];
        return [...i32(bytes.length), ...bytes];
      }),
      ...i16(0),
    ]),
  execute: () => message("E", [...cstr(""), ...i32(0)]),
  sync: () => message("S", []),
  query: (sql: string) => message("Q", cstr(sql)),
};

export interface WireMessage {
  type: string;
  /** Error and notice fields by code letter (C SQLSTATE, M message). */
  fields?: Record<string, string>;
  /** CommandComplete tag, ReadyForQuery status. */
  text?: string;
}

function decode(bytes: Uint8Array): WireMessage {
  const type = String.fromCharCode(bytes[0]!);
  const body = bytes.subarray(5);
  if (type === "E" || type === "N") {
    const fields: Record<string, string> = {};
    let i = 0;
    while (i < body.length && body[i] !== 0) {
      const code = String.fromCharCode(body[i]!);
      const end = body.indexOf(0, i + 1);
      fields[code] = new TextDecoder().decode(body.subarray(i + 1, end));
      i = end + 1;
    }
    return { type, fields };
  }
  if (type === "C") return { type, text: new TextDecoder().decode(body.subarray(0, body.length - 1)) };
  if (type === "Z") return { type, text: String.fromCharCode(body[0]!) };
  return { type };
}

/** Speaks just enough of the protocol to log in with a token (cleartext, loopback) and send raw messages. */
export class WireClient {
  private buf = new Uint8Array(0);
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(private readonly sock: Socket) {
    sock.on("data", (chunk: Buffer) => {
      const next = new Uint8Array(this.buf.length + chunk.length);
      next.set(this.buf);
      next.set(chunk, this.buf.length);
      this.buf = next;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(port: number, token: string, application: string): Promise<WireClient> {
    const sock = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", reject);
    });
    const client = new WireClient(sock);
    const params = ["user", "agent", "database", "ledger", "application_name", application];
    const body = [...i32(196608), ...params.flatMap(cstr), 0];
    sock.write(new Uint8Array([...i32(4 + body.length), ...body]));
    const auth = await client.next();
    if (auth.type !== "R") throw new Error(`expected an authentication request, got ${auth.type}`);
    sock.write(message("p", cstr(token)));
    const ready = await client.untilReady();
    const err = ready.find((m) => m.type === "E");
    if (err) throw new Error(`login failed: ${err.fields?.M}`);
    return client;
  }

  send(...messages: Uint8Array[]): void {
    for (const m of messages) this.sock.write(m);
  }

  /** Every message up to and including the next ReadyForQuery. */
  async untilReady(): Promise<WireMessage[]> {
    const out: WireMessage[] = [];
    for (;;) {
      const m = await this.next();
      out.push(m);
      if (m.type === "Z") return out;
    }
  }

  close(): void {
    this.sock.write(message("X", []));
    this.sock.end();
  }

  private async next(): Promise<WireMessage> {
    for (;;) {
      if (this.buf.length >= 5) {
        const len = new DataView(this.buf.buffer, this.buf.byteOffset).getInt32(1);
        if (this.buf.length >= len + 1) {
          const bytes = this.buf.slice(0, len + 1);
          this.buf = this.buf.subarray(len + 1);
          return decode(bytes);
        }
      }
      if (this.closed) throw new Error("connection closed by the gateway");
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}
