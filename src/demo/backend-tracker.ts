// Follows message boundaries in PGlite's output stream (chunks may split a message anywhere) to learn whether
// the last message of a batch was ReadyForQuery with status idle: the only point the backend may change hands.
import { MSG_READY_FOR_QUERY, TX_IDLE } from "./wire-messages.ts";

export class BackendTracker {
  private header = new Uint8Array(5);
  private headerFill = 0;
  private remaining = 0;
  private lastType = -1;
  private lastStatus = -1;

  /** Call before each batch: an empty response must not count as idle. */
  reset(): void {
    this.lastType = -1;
    this.lastStatus = -1;
  }

  get idle(): boolean {
    return (
      this.headerFill === 0 &&
      this.remaining === 0 &&
      this.lastType === MSG_READY_FOR_QUERY &&
      this.lastStatus === TX_IDLE
    );
  }

  feed(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - i);
        if (this.lastType === MSG_READY_FOR_QUERY) this.lastStatus = chunk[i + take - 1] as number;
        this.remaining -= take;
        i += take;
        continue;
      }
      this.header[this.headerFill++] = chunk[i++] as number;
      if (this.headerFill < 5) continue;
      this.headerFill = 0;
      this.lastType = this.header[0] as number;
      this.lastStatus = -1;
      const length = new DataView(this.header.buffer).getInt32(1);
      this.remaining = Math.max(0, length - 4);
    }
  }
}
