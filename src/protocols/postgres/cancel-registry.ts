// Cancel keys: each client gets its upstream backend's real PID (so pg_backend_pid(), pg_stat_activity and
// the PID in NotificationResponse agree with what the driver was told) with a secret minted by the
// gateway; the upstream's own secret never leaves the gateway. Keys are looked up by both halves, since two
// upstream servers may hand out the same PID. A CancelRequest with a live key is forwarded to its backend.
//
// With several worker processes sharing the listener, a CancelRequest arrives on a new connection that the
// kernel may hand to any worker: the top bits of the secret name the worker that minted it (the PID must
// stay the backend's), and a key minted elsewhere is passed to `forward`. The owner still matches both
// halves, so a forged key naming another worker cancels nothing there either.
import { randomInt } from "node:crypto";

export interface CancelTarget {
  /** Sends a CancelRequest for this session's upstream backend. */
  cancel(): void;
}

export interface CancelWorkers {
  /** This worker's index, 0 ≤ index < count. */
  index: number;
  count: number;
  /** Hands a key minted by worker `owner` to it (workers/control.ts); never called for `index` itself. */
  forward(owner: number, pid: number, secret: number): void;
}

const keyOf = (pid: number, secret: number) => `${pid}:${secret}`;

/** Bits of the secret that name the worker: enough for `count` (0 for a single process: 32 random bits). */
export const workerBits = (count: number) => (count <= 1 ? 0 : Math.ceil(Math.log2(count)));

/** The worker index a secret names, for a gateway of `count` workers. */
export function ownerOf(secret: number, count: number): number {
  const bits = workerBits(count);
  return bits === 0 ? 0 : (secret >>> (32 - bits)) & ((1 << bits) - 1);
}

export class CancelRegistry {
  private byKey = new Map<string, CancelTarget>();

  constructor(private readonly workers: CancelWorkers | null = null) {}

  /** Registers a session under its upstream PID; returns the key to hand to the client. */
  mint(pid: number, target: CancelTarget): { pid: number; secret: number } {
    let secret: number;
    do secret = this.withOwner(randomInt(-0x80000000, 0x7fffffff));
    while (this.byKey.has(keyOf(pid, secret)));
    this.byKey.set(keyOf(pid, secret), target);
    return { pid, secret };
  }

  /**
   * Returns true when the key matched a live session here (and the cancel was sent). A key naming another
   * worker is forwarded to it and returns false: whether it matched is the owner's to decide.
   */
  cancel(pid: number, secret: number): boolean {
    const w = this.workers;
    if (w && w.count > 1) {
      const owner = ownerOf(secret, w.count);
      if (owner !== w.index) {
        // An index past the last worker names no one: dropped, as PostgreSQL drops an unknown key.
        if (owner < w.count) w.forward(owner, pid, secret);
        return false;
      }
    }
    return this.cancelHere(pid, secret);
  }

  /** A key forwarded by another worker: matched here only, never forwarded again. */
  cancelHere(pid: number, secret: number): boolean {
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

  /** Replaces the secret's top bits with this worker's index (int32, as the wire carries it). */
  private withOwner(secret: number): number {
    const w = this.workers;
    const bits = w ? workerBits(w.count) : 0;
    if (!w || bits === 0) return secret;
    const low = secret & (0xffffffff >>> bits);
    return (w.index << (32 - bits)) | low | 0;
  }
}
