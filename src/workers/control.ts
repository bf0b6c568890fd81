// Each worker's control socket: a unix-domain HTTP server in data_dir/run (0700; the socket 0600) through
// which the other workers hand it a PostgreSQL CancelRequest whose key it minted, and read its metrics.
// Only the gateway's own user can reach it; nothing on it is exposed on the network.
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";

export interface ControlHandlers {
  /** A forwarded cancel key: true when it matched a live session here. */
  cancel(pid: number, secret: number): boolean;
  /** This worker's own metrics (Prometheus text, without a worker label). */
  metrics(): string;
}

export interface ControlServer {
  stop(): void;
}

export function startControl(path: string, handlers: ControlHandlers): ControlServer {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  chmodSync(dirname(path), 0o700);
  // A socket left by a worker that was killed: this worker id is ours now (the supervisor runs one of each).
  rmSync(path, { force: true });
  const server = Bun.serve({
    unix: path,
    fetch: async (req) => {
      const url = new URL(req.url);
      if (req.method === "POST" && url.pathname === "/cancel") {
        const key = (await req.json().catch(() => null)) as { pid?: unknown; secret?: unknown } | null;
        if (!key || !Number.isInteger(key.pid) || !Number.isInteger(key.secret))
          return new Response("bad key", { status: 400 });
        const matched = handlers.cancel(key.pid as number, key.secret as number);
        return new Response(null, { status: matched ? 204 : 404 });
      }
      if (req.method === "GET" && url.pathname === "/metrics") return new Response(handlers.metrics());
      return new Response("not found", { status: 404 });
    },
  });
  chmodSync(path, 0o600);
  return {
    stop() {
      server.stop(true);
      rmSync(path, { force: true });
    },
  };
}

/** Hands a cancel key to the worker listening on `path`; true when it matched a session there. */
export async function forwardCancel(path: string, pid: number, secret: number): Promise<boolean> {
  const res = await fetch("http://worker/cancel", {
    unix: path,
    method: "POST",
    body: JSON.stringify({ pid, secret }),
    signal: AbortSignal.timeout(5_000),
  });
  return res.status === 204;
}

/** Another worker's own metrics, or null when it does not answer (restarting, or gone). */
export async function peerMetrics(path: string): Promise<string | null> {
  try {
    const res = await fetch("http://worker/metrics", { unix: path, signal: AbortSignal.timeout(2_000) });
    return res.ok ? await res.text() : null;
  } catch {
    return null;
  }
}
