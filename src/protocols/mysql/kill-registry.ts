// The listener's live sessions by the connection id each greeting announced, so a KILL from another
// connection of the same identity reaches the session it names (the CLI's Ctrl-C opens a new connection).
import type { CustosError } from "../../core/errors.ts";

export interface KillTarget {
  readonly ownerKey: string;
  readonly upstreamThreadId: number;
  terminate(error: CustosError): void;
}

/** Live sessions by the connection id their greeting announced, for KILL from another connection. */
export class KillRegistry {
  private readonly live = new Map<number, KillTarget>();
  register(id: number, t: KillTarget): void {
    this.live.set(id, t);
  }
  unregister(id: number): void {
    this.live.delete(id);
  }
  get(id: number): KillTarget | undefined {
    return this.live.get(id);
  }
}
