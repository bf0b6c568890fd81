// Cancel keys: each client gets its upstream backend's real PID (so pg_backend_pid(), pg_stat_activity and
// the PID in NotificationResponse agree with what the driver was told) with a secret minted by the
// gateway; the upstream's own secret never leaves the gateway. Keys are looked up by both halves, since two
// upstream servers may hand out the same PID. A CancelRequest with a live key is forwarded to its backend.
import { randomInt } from "node:crypto";

export interface CancelTarget {
  /** Sends a CancelRequest for this session's upstream backend. */
  cancel(): void;
}

const keyOf = (pid: number, secret: number) => `${pid}:${secret}`;

export class CancelRegistry {
  private byKey = new Map<string, CancelTarget>();

  /** Registers a session under its upstream PID; returns the key to hand to the client. */
  mint(pid: number, target: CancelTarget): { pid: number; secret: number } {
    let secret: number;
    do secret = randomInt(-0x80000000, 0x7fffffff);
    while (this.byKey.has(keyOf(pid, secret)));
    this.byKey.set(keyOf(pid, secret), target);
    return { pid, secret };
  }

  /** Returns true when the key matched a live session (and the cancel was sent). */
  cancel(pid: number, secret: number): boolean {
    const target = this.byKey.get(keyOf(pid, secret));
    if (!target) return false;
    target.cancel();
    return true;
  }

  release(key: { pid: number; secret: number }): void {
    this.byKey.delete(keyOf(key.pid, key.secret));
  }

  get size(): number {
    return this.byKey.size;
  }
}
