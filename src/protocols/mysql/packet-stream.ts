// A Conn read as MySQL packets, one at a time (`next()`), with a bound on each payload. Used for both
// legs: the client's commands and the upstream's responses. Reading pauses the socket while packets wait
// unread beyond a small queue, so a fast peer never fills memory.
import { CustosError } from "../../core/errors.ts";
import { type Packet, PacketReader } from "./codec.ts";
import type { ByteConn } from "./tls-front.ts";

const QUEUE_HIGH = 256;

export class PacketStream {
  private readonly reader: PacketReader;
  private readonly queue: Packet[] = [];
  private head = 0;
  private waiter: { resolve(p: Packet): void; reject(e: Error): void } | null = null;
  private failure: Error | null = null;
  private paused = false;
  private held = false;
  /** Bytes as they arrive (for recording the raw stream); called before framing. */
  onBytes: ((chunk: Uint8Array) => void) | null = null;

  constructor(
    readonly conn: ByteConn,
    maxPayload: number,
    private readonly side: "client" | "upstream",
  ) {
    this.reader = new PacketReader(maxPayload);
    conn.events = {
      data: (chunk) => this.data(chunk),
      close: (error) => this.fail(error ?? new Error(`${side} closed the connection`)),
    };
  }

  /**
   * Frames only the next packet and keeps what follows unread: a TLS ClientHello may sit right behind
   * the SSLRequest in the same read, and it is not a MySQL packet.
   */
  frameOne(): void {
    this.reader.remaining = 1;
  }

  set maxPayload(n: number) {
    this.reader.maxPayload = n;
  }

  private data(chunk: Uint8Array): void {
    if (this.failure) return;
    this.onBytes?.(chunk);
    let packets: Packet[];
    try {
      packets = this.reader.push(chunk);
    } catch (err) {
      const code = this.side === "client" ? "protocol.too_large" : "upstream.protocol";
      this.fail(new CustosError(code, err instanceof Error ? err.message : String(err)));
      return;
    }
    for (const p of packets) {
      // Views into a chunk Bun may reuse: keep our own copy of queued packets.
      const raw = p.raw.slice();
      const copy = { seq: p.seq, parts: p.parts, raw, payload: p.parts === 1 ? raw.subarray(4) : p.payload };
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(copy);
      } else this.queue.push(copy);
    }
    if (this.queue.length - this.head > QUEUE_HIGH && !this.paused) {
      this.paused = true;
      this.conn.pause();
    }
  }

  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(error);
  }

  get failed(): Error | null {
    return this.failure;
  }

  /**
   * Stops reading this connection (it is being wrapped in TLS) and returns what was read past the last
   * packet. Packets still queued mean the client sent more than the protocol allows here: refused.
   */
  detach(): Uint8Array {
    this.conn.events = null;
    if (this.pending > 0) throw new Error("data after the SSLRequest before the TLS handshake");
    return this.reader.take();
  }

  /** Packets already framed and waiting. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Holds reading (the other leg is congested, or the recording is behind). */
  hold(on: boolean): void {
    this.held = on;
    if (on) this.conn.pause();
    else if (!this.paused) this.conn.resume();
  }

  next(): Promise<Packet> {
    if (this.head < this.queue.length) {
      const p = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (this.paused && this.queue.length - this.head < QUEUE_HIGH / 2) {
        this.paused = false;
        if (!this.held) this.conn.resume();
      }
      return Promise.resolve(p);
    }
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** next() with a time limit (handshakes). */
  nextWithin(ms: number, what: string): Promise<Packet> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const e = new CustosError(
          this.side === "client" ? "protocol.malformed" : "upstream.timeout",
          `${what} timed out`,
        );
        this.fail(e);
        reject(e);
      }, ms);
      this.next().then(
        (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }
}
