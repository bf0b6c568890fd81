// HTTP has no session of its own, so Custos makes one per client connection and connection name: the
// first request on a keep-alive connection opens a gateway session (authentication, session.start), the
// following ones reuse it while they present the same token, it has not expired, and the connection has
// not gone quiet. Each request is one command of that session. The client's address:port names the TCP
// connection (Bun.serve gives no connection object to a fetch handler), so a new connection, a different
// token or an expired one always opens a fresh session.
import type { Command, CommandOutcome } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import type { CustosError } from "../../core/errors.ts";
import type { Gateway, GatewaySession, SessionStats, TlsInfo } from "../../core/session.ts";
import type { HttpTarget } from "./target.ts";

export interface PooledSession {
  readonly session: GatewaySession<HttpTarget>;
  readonly stats: SessionStats;
  /** Requests in flight; the sweep never closes a session with work in flight. */
  inflight: number;
  lastUsed: number;
  readonly startedAt: number;
  terminated: CustosError | null;
}

interface Entry {
  credential: string;
  opening: Promise<{ ok: true; pooled: PooledSession } | { ok: false; error: CustosError }>;
  pooled: PooledSession | null;
}

export interface SessionPoolOptions {
  gateway: Gateway;
  /** A client connection quiet this long ends its session (Bun closes idle keep-alives after 10 s). */
  quietMs: number;
}

export class SessionPool {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly opts: SessionPoolOptions) {
    this.sweeper = setInterval(() => this.sweep(Date.now()), 1000);
    this.sweeper.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The open session of this client connection and token when it can serve a request now: the hot path
   * of a keep-alive connection, without awaiting the opening promise. Null sends the caller to acquire().
   */
  ready(connection: string, clientAddr: string, credential: string): PooledSession | null {
    const entry = this.entries.get(`${clientAddr}\u0000${connection}`);
    const p = entry?.pooled;
    return p && entry.credential === credential && usable(p, Date.now()) ? p : null;
  }

  /** The session for this client connection and token, opened when needed. */
  acquire(
    connection: string,
    clientAddr: string,
    credential: string,
    tls: TlsInfo | null,
  ): Promise<{ ok: true; pooled: PooledSession } | { ok: false; error: CustosError }> {
    const key = `${clientAddr}\u0000${connection}`;
    const now = Date.now();
    const entry = this.entries.get(key);
    if (entry && entry.credential === credential) {
      const p = entry.pooled;
      if (!p) return entry.opening;
      if (usable(p, now)) return entry.opening;
    }
    if (entry) this.retire(key, entry, entry.credential === credential ? "expired" : "token_changed");
    const opening = this.opts.gateway
      .open<HttpTarget>({ protocol: "http", clientAddr, credential, user: "", connection, tls })
      .then((r) => {
        if (!r.ok) {
          if (this.entries.get(key)?.opening === opening) this.entries.delete(key);
          return r;
        }
        const pooled: PooledSession = {
          session: r.session,
          stats: { bytesFromClient: 0, bytesToClient: 0, commands: 0 },
          inflight: 0,
          lastUsed: Date.now(),
          startedAt: Date.now(),
          terminated: null,
        };
        r.session.onTerminate((reason) => {
          pooled.terminated = reason;
        });
        const current = this.entries.get(key);
        if (current?.opening === opening) current.pooled = pooled;
        return { ok: true as const, pooled };
      });
    this.entries.set(key, { credential, opening, pooled: null });
    return opening;
  }

  /** Closes every session (shutdown). */
  async closeAll(reason: string): Promise<void> {
    clearInterval(this.sweeper);
    const closing: Promise<void>[] = [];
    for (const [key, entry] of this.entries) {
      this.entries.delete(key);
      if (entry.pooled) closing.push(entry.pooled.session.close(reason, entry.pooled.stats));
    }
    await Promise.all(closing);
  }

  private retire(key: string, entry: Entry, reason: string): void {
    this.entries.delete(key);
    const p = entry.pooled;
    if (!p) return;
    // A request still streaming on it finishes first; close() is idempotent.
    const close = () => void p.session.close(reason, p.stats);
    if (p.inflight === 0) close();
    else {
      const wait = setInterval(() => {
        if (p.inflight === 0) {
          clearInterval(wait);
          close();
        }
      }, 250);
      wait.unref();
    }
  }

  private sweep(now: number): void {
    for (const [key, entry] of this.entries) {
      const p = entry.pooled;
      if (!p || p.inflight > 0) continue;
      if (now - p.lastUsed >= Math.min(this.opts.quietMs, p.session.limits.idleTimeoutMs))
        this.retire(key, entry, "client");
      else if (!usable(p, now)) this.retire(key, entry, p.terminated ? "shutdown" : "expired");
    }
  }
}

function usable(p: PooledSession, now: number): boolean {
  return (
    p.terminated === null &&
    now < p.session.identity.expiresAt &&
    now - p.startedAt < p.session.limits.maxSessionMs &&
    p.session.recordable()
  );
}

/** One request's hold on its pooled session, released exactly once with the command's audit event. */
export class RequestHold {
  private released = false;

  constructor(readonly pooled: PooledSession) {
    pooled.inflight++;
    pooled.stats.commands++;
    pooled.lastUsed = Date.now();
  }

  get done(): boolean {
    return this.released;
  }

  complete(command: Command, decision: Decision, outcome: CommandOutcome): void {
    if (this.released) return;
    this.pooled.session.completed(command, decision, outcome);
    this.release();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.pooled.inflight--;
    this.pooled.lastUsed = Date.now();
  }
}
