// TLS on the client leg. MySQL clients send their TLS ClientHello right behind the SSLRequest without
// waiting for an answer (the protocol defines none), so both often arrive in one read. Bun's in-place
// upgrade cannot take bytes already read, so when some are, TLS runs in node:tls over a stream fed with
// those bytes and then the socket's; otherwise the socket is upgraded in place (the faster path).
import { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import { type Conn, type ConnEvents, upgradeToTls } from "../../net/conn.ts";

/** What the MySQL session uses of a connection: a Conn, or TLS over one. */
export interface ByteConn {
  events: ConnEvents | null;
  readonly remoteAddress: string;
  readonly isClosed: boolean;
  write(bytes: Uint8Array): void;
  pause(): void;
  resume(): void;
  end(final?: Uint8Array): void;
  destroy(): void;
}

class DuplexTlsConn implements ByteConn {
  events: ConnEvents | null = null;
  private closed = false;
  private readonly tls: TLSSocket;

  constructor(
    private readonly raw: Conn,
    leftover: Uint8Array,
    keys: { cert: string; key: string },
  ) {
    const duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        raw.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        callback();
      },
      final(callback) {
        raw.end();
        callback();
      },
    });
    raw.events = {
      data: (chunk) => duplex.push(Buffer.from(chunk)),
      close: (error) => {
        duplex.push(null);
        this.closedBy(error);
      },
    };
    duplex.push(Buffer.from(leftover));
    this.tls = new TLSSocket(duplex as never, { isServer: true, cert: keys.cert, key: keys.key });
    this.tls.on("data", (d: Buffer) => this.events?.data(new Uint8Array(d.buffer, d.byteOffset, d.length)));
    this.tls.on("error", (e) => this.closedBy(e));
    this.tls.on("close", () => this.closedBy());
  }

  get remoteAddress(): string {
    return this.raw.remoteAddress;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private closedBy(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.events?.close(error);
    this.raw.destroy();
  }

  write(bytes: Uint8Array): void {
    if (!this.closed) this.tls.write(bytes);
  }
  pause(): void {
    this.tls.pause();
  }
  resume(): void {
    this.tls.resume();
  }
  end(final?: Uint8Array): void {
    if (this.closed) return;
    if (final) this.tls.write(final);
    this.tls.end();
  }
  destroy(): void {
    this.tls.destroy();
    this.raw.destroy();
  }
}

/** TLS on the client leg after its SSLRequest; `leftover` is what was read past the SSLRequest. */
export async function acceptTls(
  raw: Conn,
  leftover: Uint8Array,
  keys: { cert: string; key: string },
): Promise<ByteConn> {
  if (leftover.length === 0) {
    await upgradeToTls(raw, keys, true);
    return raw;
  }
  return new DuplexTlsConn(raw, leftover, keys);
}
