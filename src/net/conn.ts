// A TCP (or TLS) connection with a bounded write queue. Bun's socket.write() accepts what the kernel takes
// and drops the rest, so unwritten bytes are queued here; above the high-water mark the connection asks its
// peer (the other side of the relay) to stop reading, and releases it once the queue drains.
import type { Socket } from "bun";

export interface ConnEvents {
  data(chunk: Uint8Array): void;
  /** The connection closed (either side, or an error); called once. */
  close(error?: Error): void;
}

export interface ConnOptions {
  highWaterMark?: number;
  lowWaterMark?: number;
}

const DEFAULT_HIGH = 1 << 20; // 1 MiB queued towards a slow reader before the source is paused
const DEFAULT_LOW = 256 << 10;

export class Conn {
  socket: Socket<Conn>;
  events: ConnEvents | null = null;
  private queue: Uint8Array[] = [];
  private queueHead = 0;
  private queued = 0;
  private closed = false;
  private ending = false;
  private readonly high: number;
  private readonly low: number;
  /** Called when this connection's write queue crosses the high (true) or low (false) water mark. */
  onPressure: ((congested: boolean) => void) | null = null;
  private congested = false;
  readonly remoteAddress: string;
  tls = false;

  constructor(socket: Socket<Conn>, opts: ConnOptions = {}) {
    this.socket = socket;
    this.high = opts.highWaterMark ?? DEFAULT_HIGH;
    this.low = opts.lowWaterMark ?? DEFAULT_LOW;
    this.remoteAddress = socket.remoteAddress ?? "";
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get bufferedBytes(): number {
    return this.queued;
  }

  write(bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    if (this.queued === 0) {
      const n = this.socket.write(bytes);
      if (n === bytes.length) return;
      bytes = bytes.subarray(Math.max(n, 0));
    }
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (!this.congested && this.queued > this.high) {
      this.congested = true;
      this.onPressure?.(true);
    }
  }

  /** Flushes as much of the queue as the socket takes; called on drain. */
  drain(): void {
    while (this.queueHead < this.queue.length) {
      const head = this.queue[this.queueHead]!;
      const n = this.socket.write(head);
      if (n < head.length) {
        this.queue[this.queueHead] = head.subarray(Math.max(n, 0));
        this.queued -= Math.max(n, 0);
        break;
      }
      this.queued -= n;
      this.queueHead++;
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
      if (this.ending) this.socket.end();
    }
    if (this.congested && this.queued < this.low) {
      this.congested = false;
      this.onPressure?.(false);
    }
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Ends after the queue has been written. */
  end(final?: Uint8Array): void {
    if (this.closed) return;
    if (final) this.write(final);
    if (this.queued === 0) this.socket.end();
    else this.ending = true;
  }

  /** Closes at once, dropping anything queued. */
  destroy(): void {
    if (this.closed) return;
    this.socket.terminate();
  }

  /** Called by the socket handlers exactly once. */
  closedBy(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queued = 0;
    this.events?.close(error);
  }
}

/**
 * Socket handlers shared by every Conn: Bun keeps one handler object per listener or dial. After a TLS
 * upgrade the raw socket keeps delivering ciphertext (and its own close); it is no longer `conn.socket`, so
 * its events are ignored.
 */
export const connHandlers = {
  data(socket: Socket<Conn>, chunk: Uint8Array) {
    if (socket.data.socket !== socket) return;
    try {
      socket.data.events?.data(chunk);
    } catch (err) {
      // A bug in one connection's handling ends that connection, never the gateway.
      socket.data.closedBy(err instanceof Error ? err : new Error(String(err)));
      socket.terminate();
    }
  },
  drain(socket: Socket<Conn>) {
    if (socket.data.socket === socket) socket.data.drain();
  },
  close(socket: Socket<Conn>, error?: Error) {
    if (socket.data.socket === socket) socket.data.closedBy(error);
  },
  error(socket: Socket<Conn>, error: Error) {
    if (socket.data.socket === socket) socket.data.closedBy(error);
  },
  end(socket: Socket<Conn>) {
    if (socket.data.socket === socket) socket.end();
  },
};

export interface TlsSettings {
  cert?: string;
  key?: string;
  ca?: string;
  /** Client side: verify the server's certificate chain and name. */
  verify?: boolean;
  serverName?: string;
}

/**
 * Upgrades a connection to TLS in place, after PostgreSQL's SSLRequest answer. Must be called synchronously
 * after the 'S' byte is written (server side) or read (client side). Resolves when the handshake completes.
 */
export function upgradeToTls(conn: Conn, tls: TlsSettings, isServer: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error | null) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve();
    };
    const options = isServer
      ? { cert: tls.cert, key: tls.key }
      : { ca: tls.ca, rejectUnauthorized: tls.verify ?? false, serverName: tls.serverName };
    const [, secure] = conn.socket.upgradeTLS<Conn>({
      data: conn,
      tls: options,
      socket: {
        ...connHandlers,
        close(socket: Socket<Conn>, error?: Error) {
          settle(error ?? new Error("connection closed during TLS handshake"));
          connHandlers.close(socket, error);
        },
        error(socket: Socket<Conn>, error: Error) {
          settle(error);
          connHandlers.error(socket, error);
        },
        handshake(_socket: Socket<Conn>, success: boolean, authorizationError: Error | null) {
          // Bun reports success=false with an authorization error for an unverified chain even when
          // verification is off; only a configured verification turns that into a failure.
          if (authorizationError) settle(!isServer && tls.verify ? authorizationError : null);
          else settle(success ? null : new Error("TLS handshake failed"));
        },
      },
    });
    conn.socket = secure;
    conn.tls = true;
  });
}
