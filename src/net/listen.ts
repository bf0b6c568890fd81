// TCP listeners and outbound dials that hand out Conns.
import { CustosError } from "../core/errors.ts";
import { Conn, type ConnOptions, connHandlers } from "./conn.ts";

export interface Address {
  host: string;
  port: number;
}

export interface Listener {
  readonly port: number;
  /** Stops accepting. Live connections stay open: their servers drain and end them with a reason the
   * client reads (a FATAL, an ERR packet), which closing every socket here would pre-empt. */
  stop(): void;
}

// What an errno means to an operator reading the one line `custos serve` prints before it exits.
const BIND_REASONS: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available on this host",
  EACCES: "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)",
};

/**
 * Whether this process is one of several workers sharing every listener (SO_REUSEPORT: the kernel spreads
 * new connections over them; Linux). Process-wide because it is a fact about the process, set once by
 * `serve` before any listener binds (workers/worker-env.ts), and read by every protocol's listener.
 */
let sharedListeners = false;
export const shareListeners = (on: boolean) => {
  sharedListeners = on;
};
export const listenersShared = () => sharedListeners;

/**
 * A listener that cannot bind is a start-up error naming `host:port` and the reason: Bun's own message
 * ("Failed to listen at 127.0.0.1") names neither the port nor the cause.
 */
export function bindFailure(what: string | null, addr: Address, err: unknown): CustosError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const reason = (code && BIND_REASONS[code]) ?? (err instanceof Error ? err.message : String(err));
  return new CustosError(
    "config.invalid",
    `${what ? `${what}: ` : ""}cannot listen on ${addr.host}:${addr.port}: ${reason}${code ? ` (${code})` : ""}`,
    { address: `${addr.host}:${addr.port}`, errno: code ?? null },
  );
}

/** Binds or throws bindFailure. */
export function bindOrExplain<T>(what: string | null, addr: Address, bind: () => T): T {
  try {
    return bind();
  } catch (err) {
    throw bindFailure(what, addr, err);
  }
}

export function listen(addr: Address, onConn: (conn: Conn) => void, opts: ConnOptions = {}): Listener {
  const server = bindOrExplain(null, addr, () =>
    Bun.listen<Conn>({
      hostname: addr.host,
      port: addr.port,
      ...(sharedListeners ? { reusePort: true } : {}),
      socket: {
        ...connHandlers,
        open(socket) {
          // Conn is created before `data` can arrive: open runs first for every accepted socket.
          socket.data = new Conn(socket, opts);
          socket.setNoDelay(true);
          onConn(socket.data);
        },
      },
    }),
  );
  return { port: server.port, stop: () => server.stop(false) };
}

export function dial(addr: Address, timeoutMs: number, opts: ConnOptions = {}): Promise<Conn> {
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`connect to ${addr.host}:${addr.port} timed out`));
    }, timeoutMs);
    Bun.connect<Conn>({
      hostname: addr.host,
      port: addr.port,
      socket: {
        ...connHandlers,
        open(socket) {
          socket.data = new Conn(socket, opts);
          if (timedOut) return socket.terminate();
          socket.setNoDelay(true);
          clearTimeout(timer);
          resolve(socket.data);
        },
        connectError(_socket, error) {
          clearTimeout(timer);
          reject(error);
        },
      },
    }).catch((error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
