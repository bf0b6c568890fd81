// A minimal PostgreSQL wire client for masking tests: it returns the server's messages as raw bytes, so
// tests mask exactly what a gateway would forward (real RowDescription, DataRow and CopyData bytes).
import { connect, type Socket } from "node:net";

export interface RawMessage {
  type: string;
  bytes: Uint8Array;
}

const enc = new TextEncoder();

function message(type: string, body: number[]): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

const cstr = (s: string) => [...enc.encode(s), 0];
const i16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const i32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

export class RawPg {
  private buf = new Uint8Array(0);
  private waiters: (() => void)[] = [];

  private constructor(private readonly sock: Socket) {
    sock.on("data", (chunk: Buffer) => {
      const next = new Uint8Array(this.buf.length + chunk.length);
      next.set(this.buf);
      next.set(chunk, this.buf.length);
      this.buf = next;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(port: number, user: string, database: string): Promise<RawPg> {
    const sock = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", reject);
    });
    const pg = new RawPg(sock);
    const body = [...i32(196608), ...cstr("user"), ...cstr(user), ...cstr("database"), ...cstr(database), 0];
    const startup = new Uint8Array(4 + body.length);
    new DataView(startup.buffer).setInt32(0, startup.length);
    startup.set(body, 4);
    sock.write(startup);
    const msgs = await pg.untilReady();
    const err = msgs.find((m) => m.type === "E");
    if (err) throw new Error(`startup failed: ${new TextDecoder().decode(err.bytes)}`);
    return pg;
  }

  /** Simple query protocol: every message up to ReadyForQuery. */
  query(sql: string): Promise<RawMessage[]> {
    this.sock.write(message("Q", cstr(sql)));
    return this.untilReady();
  }

  /** Extended protocol with every result column in binary (format 1). */
  queryBinary(sql: string): Promise<RawMessage[]> {
    this.sock.write(message("P", [...cstr(""), ...cstr(sql), ...i16(0)]));
    this.sock.write(message("B", [...cstr(""), ...cstr(""), ...i16(0), ...i16(0), ...i16(1), ...i16(1)]));
    this.sock.write(message("D", [80, ...cstr("")])); // 'P' portal
    this.sock.write(message("E", [...cstr(""), ...i32(0)]));
    this.sock.write(message("S", []));
    return this.untilReady();
  }

  close(): void {
    this.sock.write(message("X", []));
    this.sock.end();
  }

  private async untilReady(): Promise<RawMessage[]> {
    const out: RawMessage[] = [];
    for (;;) {
      while (this.buf.length >= 5) {
        const len = new DataView(this.buf.buffer, this.buf.byteOffset).getInt32(1);
        if (this.buf.length < len + 1) break;
        const bytes = this.buf.slice(0, len + 1);
        this.buf = this.buf.subarray(len + 1);
        const type = String.fromCharCode(bytes[0]!);
        out.push({ type, bytes });
        if (type === "Z") return out;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}
