// The MySQL listener: accepts clients, enforces the login time-out and the idle and absolute session
// limits with one sweep a second, and drains on shutdown.
import { CustosError } from "../../core/errors.ts";
import { type Address, listen } from "../../net/listen.ts";
import { KillRegistry } from "./kill-registry.ts";
import { MysqlClientSession, type MysqlSessionOptions } from "./session.ts";

export interface MysqlServer {
  readonly port: number;
  readonly sessions: number;
  stop(graceMs?: number): Promise<void>;
}

export function startMysqlServer(address: Address, options: Omit<MysqlSessionOptions, "kills">): MysqlServer {
  const live = new Set<MysqlClientSession>();
  const sessionOptions = { ...options, kills: new KillRegistry() };
  const listener = listen(address, (conn) => {
    live.add(new MysqlClientSession(conn, sessionOptions, (s) => live.delete(s)));
  });
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const s of live) {
      const limits = s.limits;
      if (!limits) {
        if (now - s.startedAt >= options.authTimeoutMs)
          s.fail(new CustosError("protocol.malformed", "authentication timeout"), "auth_timeout");
        continue;
      }
      if (now - s.startedAt >= limits.maxSessionMs)
        s.fail(new CustosError("session.max_duration", "maximum session duration reached"), "max_duration");
      else if (s.idleFor(now) >= limits.idleTimeoutMs)
        s.fail(new CustosError("session.idle_timeout", "idle-session timeout"), "idle_timeout");
    }
  }, 1000);
  sweep.unref();
  return {
    port: listener.port,
    get sessions() {
      return live.size;
    },
    async stop(graceMs = 0) {
      listener.stop();
      clearInterval(sweep);
      const deadline = Date.now() + graceMs;
      while (live.size && Date.now() < deadline) await Bun.sleep(50);
      for (const s of live)
        s.fail(new CustosError("gateway.shutting_down", "the gateway is shutting down"), "shutdown");
    },
  };
}
