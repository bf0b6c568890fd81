// PGlite is one backend: one session's work must finish (ReadyForQuery, idle) before another's starts, or
// two clients' extended-protocol messages interleave on the shared unnamed statement and portal.

export class BackendGate {
  private owner: number | undefined;
  private readonly waiters: { id: number; grant: () => void }[] = [];

  get holder(): number | undefined {
    return this.owner;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves once `id` owns the backend; immediately if it already does. */
  acquire(id: number): Promise<void> {
    if (this.owner === id) return Promise.resolve();
    if (this.owner === undefined) {
      this.owner = id;
      return Promise.resolve();
    }
    return new Promise((grant) => this.waiters.push({ id, grant }));
  }

  release(id: number): void {
    if (this.owner !== id) return;
    const next = this.waiters.shift();
    this.owner = next?.id;
    next?.grant();
  }

  /** Forgets a waiter that went away; it never gets the backend. */
  abandon(id: number): void {
    const i = this.waiters.findIndex((w) => w.id === id);
    if (i >= 0) this.waiters.splice(i, 1);
  }
}
