// The one raw-socket PostgreSQL client for tests that send hand-made bytes: it writes whatever it is given and
// frames what comes back with its own parser (independent of the gateway's codec, so a codec bug cannot hide
// itself). It can pause reading to play a slow reader, and can stop keeping DataRows to stream large results.
// Grown for its other callers: extended-protocol builders (parse, bind, describe, execute, sync) and
// `untilReady` for message sequences real drivers never send (policy-e2e, approvals); `trusted` sessions and
// `frame` to hand a real server's exact bytes to the masking code; `exchange` for one-shot malformed input
// against the demo database.
import type { Socket } from "bun";

export interface RawMessage {
  /** One-letter message type, e.g. "E", "Z", "K". */
  type: string;
  /** The message body, after the type byte and length. */
  body: Uint8Array;
}

/** A message with the parts tests read most: error/notice fields, CommandComplete tag, ReadyForQuery status. */
export interface ReadMessage extends RawMessage {
  /** Error and notice fields by code letter (C SQLSTATE, M message). */
  fields?: Record<string, string>;
  /** CommandComplete tag, ReadyForQuery status. */
  text?: string;
}

export interface RawClientOptions {
  /** Keep every received byte in `received` (default true); off for large streams. */
  keepBytes?: boolean;
  /** Keep DataRow messages in `messages` (default true); off to only count them. */
  keepRows?: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class RawClient {
  private socket!: Socket<RawClient>;
  private chunks: Uint8Array[] = [];
  private pending: Uint8Array | null = null;
  private waiters = new Set<() => void>();
  /** Every message framed so far (DataRows only when keepRows). */
  readonly messages: RawMessage[] = [];
  receivedBytes = 0;
  dataRows = 0;
  closed = false;
  keepBytes: boolean;
  keepRows: boolean;
  /** Set when the first byte is a one-byte SSLRequest answer rather than a message. */
  expectSslAnswer = false;
  sslAnswer: string | null = null;
  private outQueue: Uint8Array[] = [];
  /** Index of the first message `untilReady` has not returned yet. */
  private cursor = 0;

  private constructor(opts: RawClientOptions) {
    this.keepBytes = opts.keepBytes ?? true;
    this.keepRows = opts.keepRows ?? true;
  }

  static async connect(port: number, opts: RawClientOptions = {}): Promise<RawClient> {
    const c = new RawClient(opts);
    await Bun.connect<RawClient>({
      hostname: "127.0.0.1",
      port,
      data: c,
      socket: {
        open(s) {
          c.socket = s;
        },
        data(_s, chunk) {
          c.onData(chunk);
        },
        drain() {
          c.flush();
        },
        close() {
          c.onClose();
        },
        error() {
          c.onClose();
        },
        end(s) {
          s.end();
        },
      },
    });
    return c;
  }

  /** Every byte received so far (when keepBytes). */
  get received(): Uint8Array {
    return Buffer.concat(this.chunks);
  }

  /** Writes each part in order (a pipeline when several). */
  send(...parts: (Uint8Array | string)[]): void {
    for (const bytes of parts) {
      const b = typeof bytes === "string" ? enc.encode(bytes) : bytes;
      if (this.outQueue.length) {
        this.outQueue.push(b);
        continue;
      }
      const n = this.socket.write(b);
      if (n < b.length) this.outQueue.push(b.subarray(Math.max(n, 0)));
    }
  }

  /** Bytes queued locally because the socket would not take them yet. */
  get unsent(): number {
    return this.outQueue.reduce((n, b) => n + b.length, 0);
  }

  private flush(): void {
    while (this.outQueue.length) {
      const head = this.outQueue[0]!;
      const n = this.socket.write(head);
      if (n < head.length) {
        this.outQueue[0] = head.subarray(Math.max(n, 0));
        return;
      }
      this.outQueue.shift();
    }
    this.wake();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Half-closes after the queued bytes. */
  end(): void {
    this.socket.end();
  }

  close(): void {
    if (!this.closed) this.socket.terminate();
  }

  /** Leaves as a polite client does: Terminate, then a half-close. */
  quit(): void {
    if (this.closed) return;
    this.send(terminate());
    this.end();
  }

  private onData(chunk: Uint8Array): void {
    this.receivedBytes += chunk.length;
    if (this.keepBytes) this.chunks.push(new Uint8Array(chunk));
    let buf: Uint8Array = chunk;
    if (this.expectSslAnswer && this.sslAnswer === null && buf.length > 0) {
      this.sslAnswer = String.fromCharCode(buf[0]!);
      buf = buf.subarray(1);
    }
    if (this.pending) {
      buf = Buffer.concat([this.pending, buf]);
      this.pending = null;
    }
    let off = 0;
    while (buf.length - off >= 5) {
      const len = new DataView(buf.buffer, buf.byteOffset + off + 1, 4).getInt32(0);
      if (len < 4) throw new Error(`raw client: server sent a message length of ${len}`);
      if (buf.length - off < 1 + len) break;
      const type = String.fromCharCode(buf[off]!);
      if (type === "D") this.dataRows++;
      if (type !== "D" || this.keepRows) {
        this.messages.push({ type, body: buf.slice(off + 5, off + 1 + len) });
      }
      off += 1 + len;
    }
    if (off < buf.length) this.pending = buf.slice(off);
    this.wake();
  }

  private onClose(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Waits until `done()` holds, the connection closes (then rejects unless `done()` holds) or time runs out. */
  until(done: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done()) return finish();
        if (this.closed) return finish(new Error(`raw client: connection closed while waiting for ${what}`));
      };
      const timer = setTimeout(
        () => finish(new Error(`raw client: timed out after ${timeoutMs} ms waiting for ${what}`)),
        timeoutMs,
      );
      const finish = (err?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits for the next message of `type` after index `from`; returns it and its index. */
  async waitFor(type: string, timeoutMs = 5000, from = 0): Promise<RawMessage> {
    const find = () => this.messages.findIndex((m, i) => i >= from && m.type === type);
    await this.until(() => find() >= 0, timeoutMs, `message '${type}'`);
    return this.messages[find()]!;
  }

  /** Waits until the gateway closes the connection. */
  waitClosed(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.closed, timeoutMs, "the connection to close");
  }

  /** The fields of every ErrorResponse received. */
  errors(): Record<string, string>[] {
    return this.messages.filter((m) => m.type === "E").map((m) => fields(m.body));
  }

  /** Every message not yet returned by this method, up to and including the next ReadyForQuery. */
  async untilReady(timeoutMs = 10_000): Promise<ReadMessage[]> {
    const from = this.cursor;
    const find = () => this.messages.findIndex((m, i) => i >= from && m.type === "Z");
    await this.until(() => find() >= 0, timeoutMs, "message 'Z'");
    this.cursor = find() + 1;
    return this.messages.slice(from, this.cursor).map(read);
  }

  /** Sends a simple Query and waits for its ReadyForQuery; returns every message received since it was sent. */
  async simpleQuery(text: string, timeoutMs = 10_000): Promise<RawMessage[]> {
    const from = this.messages.length;
    this.send(query(text));
    await this.waitFor("Z", timeoutMs, from);
    this.cursor = this.messages.length;
    return this.messages.slice(from);
  }
}

// --- encoding: hand-made messages ----------------------------------------------------------------------------

function int32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
}

function int16(n: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setInt16(0, n);
  return b;
}

const cstr = (s: string) => Buffer.concat([enc.encode(s), Uint8Array.of(0)]);

/** A typed message: type byte, int32 length (including itself), body. `length` overrides the length field. */
export function typed(
  type: string,
  body: Uint8Array | string = new Uint8Array(0),
  length?: number,
): Uint8Array {
  const b = typeof body === "string" ? enc.encode(body) : body;
  return Buffer.concat([Uint8Array.of(type.charCodeAt(0)), int32(length ?? b.length + 4), b]);
}

/** An untyped packet (startup, SSLRequest, CancelRequest): int32 length then the body. */
export function untyped(body: Uint8Array, length?: number): Uint8Array {
  return Buffer.concat([int32(length ?? body.length + 4), body]);
}

export function startup(params: Record<string, string>, major = 3, minor = 0): Uint8Array {
  const parts: Uint8Array[] = [int32((major << 16) | minor)];
  for (const [k, v] of Object.entries(params)) parts.push(cstr(k), cstr(v));
  parts.push(Uint8Array.of(0));
  return untyped(Buffer.concat(parts));
}

export const sslRequest = () => untyped(int32(80877103));
export const cancelRequest = (pid: number, secret: number) =>
  untyped(Buffer.concat([int32(80877102), int32(pid), int32(secret)]));
export const password = (token: string) => typed("p", cstr(token));
export const query = (text: string) => typed("Q", cstr(text));
/** Parse with no parameter types: the server infers them. */
export const parse = (statement: string, sql: string) =>
  typed("P", Buffer.concat([cstr(statement), cstr(sql), int16(0)]));

/** Bind to the unnamed portal: text parameters, and one format code per result column (none: all text). */
export function bind(statement: string, params: string[] = [], resultFormats: number[] = []): Uint8Array {
  const values = params.flatMap((p) => {
    const b = enc.encode(p);
    return [int32(b.length), b];
  });
  return typed(
    "B",
    Buffer.concat([
      cstr(""),
      cstr(statement),
      int16(0),
      int16(params.length),
      ...values,
      int16(resultFormats.length),
      ...resultFormats.map(int16),
    ]),
  );
}

/** Describe a portal ('P') or a prepared statement ('S'). */
export const describe = (kind: "P" | "S", name = "") =>
  typed("D", Buffer.concat([Uint8Array.of(kind.charCodeAt(0)), cstr(name)]));
/** Execute the unnamed portal with no row limit. */
export const execute = () => typed("E", Buffer.concat([cstr(""), int32(0)]));
export const sync = () => typed("S");
export const copyData = (bytes: Uint8Array | string) => typed("d", bytes);
export const copyDone = () => typed("c");
export const terminate = () => typed("X");

// --- decoding ------------------------------------------------------------------------------------------------

/** ErrorResponse / NoticeResponse fields by their one-letter codes. */
export function fields(body: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < body.length && body[off] !== 0) {
    const code = String.fromCharCode(body[off]!);
    const end = body.indexOf(0, off + 1);
    out[code] = dec.decode(body.subarray(off + 1, end));
    off = end + 1;
  }
  return out;
}

export function cstrings(body: Uint8Array): string[] {
  return dec.decode(body).split("\0").slice(0, -1);
}

/** The message as it came over the wire: type byte, length, body. */
export const frame = (m: RawMessage): Uint8Array => typed(m.type, m.body);

function read(m: RawMessage): ReadMessage {
  if (m.type === "E" || m.type === "N") return { ...m, fields: fields(m.body) };
  if (m.type === "C") return { ...m, text: dec.decode(m.body.subarray(0, m.body.length - 1)) };
  if (m.type === "Z") return { ...m, text: String.fromCharCode(m.body[0]!) };
  return m;
}

export function readInt32(body: Uint8Array, off: number): number {
  return new DataView(body.buffer, body.byteOffset + off, 4).getInt32(0);
}

/** Opens a session: startup, the token as the password, then waits for ReadyForQuery. */
export async function login(
  port: number,
  token: string,
  opts: RawClientOptions & { database?: string; params?: Record<string, string> } = {},
): Promise<{ client: RawClient; pid: number; secret: number }> {
  const client = await RawClient.connect(port, opts);
  client.send(startup({ user: "agent", database: opts.database ?? "ledger", ...opts.params }));
  await client.waitFor("R");
  client.send(password(token));
  const hello = await client.untilReady();
  const err = hello.find((m) => m.type === "E");
  if (err) throw new Error(`raw client: login failed: ${err.fields?.M}`);
  const key = client.messages.find((m) => m.type === "K");
  if (!key) throw new Error("raw client: no BackendKeyData");
  return { client, pid: readInt32(key.body, 0), secret: readInt32(key.body, 4) };
}

/** Opens a session on a server that asks for no password (trust auth), e.g. a real PostgreSQL under test. */
export async function trusted(
  port: number,
  params: Record<string, string>,
  opts: RawClientOptions = {},
): Promise<RawClient> {
  const client = await RawClient.connect(port, opts);
  client.send(startup(params));
  const err = (await client.untilReady()).find((m) => m.type === "E");
  if (err) {
    client.close();
    throw new Error(`raw client: startup failed: ${err.fields?.M}`);
  }
  return client;
}

/** Sends bytes on a fresh connection; keeps everything until the server closes or `ms` passes. */
export async function exchange(
  port: number,
  bytes: Uint8Array,
  ms = 2_000,
): Promise<{ reply: Buffer; closed: boolean; errors: Record<string, string>[] }> {
  const client = await RawClient.connect(port);
  try {
    client.send(bytes);
    await client.waitClosed(ms).catch(() => {});
    return { reply: Buffer.from(client.received), closed: client.closed, errors: client.errors() };
  } finally {
    client.close();
  }
}

/** A logged-in session under an application name, which is how tests find it in the audit store. */
export async function session(port: number, token: string, application: string): Promise<RawClient> {
  return (await login(port, token, { params: { application_name: application } })).client;
}
