// Cancel keys: each client gets a (pid, secret) pair minted by the gateway; the upstream's own key never
// leaves the gateway. A CancelRequest with a minted key is forwarded to the right upstream backend.
import { randomInt } from "node:crypto";

export interface CancelTarget {
  /** Sends a CancelRequest for this session's upstream backend. */
  cancel(): void;
}

export class CancelRegistry {
  private byPid = new Map<number, { secret: number; target: CancelTarget }>();

  mint(target: CancelTarget): { pid: number; secret: number } {
    let pid: number;
    do pid = randomInt(1, 0x7fffffff);
    while (this.byPid.has(pid));
    const secret = randomInt(-0x80000000, 0x7fffffff);
    this.byPid.set(pid, { secret, target });
    return { pid, secret };
  }

  /** Returns true when the key matched a live session (and the cancel was sent). */
  cancel(pid: number, secret: number): boolean {
    const entry = this.byPid.get(pid);
    if (!entry || entry.secret !== secret) return false;
    entry.target.cancel();
    return true;
  }

  release(pid: number): void {
    this.byPid.delete(pid);
  }

  get size(): number {
    return this.byPid.size;
  }
}
