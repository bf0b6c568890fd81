// TCP listeners and outbound dials that hand out Conns.
import { Conn, type ConnOptions, connHandlers } from "./conn.ts";

export interface Address {
  host: string;
  port: number;
}

export interface Listener {
  readonly port: number;
  stop(): void;
}

export function listen(addr: Address, onConn: (conn: Conn) => void, opts: ConnOptions = {}): Listener {
  const server = Bun.listen<Conn>({
    hostname: addr.host,
    port: addr.port,
    socket: {
      ...connHandlers,
      open(socket) {
        // Conn is created before `data` can arrive: open runs first for every accepted socket.
        socket.data = new Conn(socket, opts);
        socket.setNoDelay(true);
        onConn(socket.data);
      },
    },
  });
  return { port: server.port, stop: () => server.stop(true) };
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
