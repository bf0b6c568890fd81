// The two ways a forwarded request ends early: the upstream misses its deadline for the response headers
// (`timeout`, 504), or the client goes away (499). Both abort the upstream fetch through the request's
// AbortController. They are watched by one sweep over the requests in flight instead of a setTimeout and
// an abort listener on the client's signal per request: those cost several microseconds of the hot path
// (bench/RESULTS.md, issue 23), the sweep a Set insertion. Bun reports a client's abort on `req.signal`
// whenever it is read, even if it was never read before (checked by test/http/in-flight.test.ts), so
// reading it at each sweep is enough. An expiry is late by at most one tick.
import { CustosError } from "../../core/errors.ts";

/** How often the requests in flight are checked; bounds how late a timeout or a client's abort acts. */
export const SWEEP_MS = 25;

export class InFlight {
  private readonly live = new Set<Watched>();
  private timer: ReturnType<typeof setInterval> | null = null;

  get size(): number {
    return this.live.size;
  }

  /** Watches `client` (the incoming request) until done(); the upstream must answer within `timeoutMs`. */
  watch(client: Request, timeoutMs: number): Watched {
    const w = new Watched(client, Date.now() + timeoutMs, this.live);
    this.live.add(w);
    if (this.timer === null) {
      this.timer = setInterval(() => this.sweep(), SWEEP_MS);
      this.timer.unref();
    }
    return w;
  }

  /** Stops the sweep (gateway shutdown); requests still in flight end with their own streams. */
  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private sweep(): void {
    if (this.live.size === 0) {
      // Idle: stop ticking until the next request.
      this.close();
      return;
    }
    const now = Date.now();
    for (const w of this.live) {
      if (now >= w.deadline)
        w.fail(new CustosError("upstream.timeout", "the upstream did not answer in time"));
      else if (w.client.signal.aborted)
        w.fail(new CustosError("protocol.malformed", "client closed the request"));
    }
  }
}

/** One request in flight. `signal` goes to fetch; answered() ends the deadline, done() the watch. */
export class Watched {
  private readonly controller = new AbortController();

  constructor(
    readonly client: Request,
    public deadline: number,
    private readonly live: Set<Watched>,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The response headers arrived: the timeout no longer applies (a body may stream for hours). */
  answered(): void {
    this.deadline = Number.POSITIVE_INFINITY;
  }

  /** The exchange is over (answered, refused, failed or cancelled): nothing more to watch. */
  done(): void {
    this.live.delete(this);
  }

  /** Aborts the upstream fetch (and its body) with `reason`, once. */
  fail(reason: CustosError): void {
    this.live.delete(this);
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }
}
