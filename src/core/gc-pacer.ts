// Paces full garbage collections by external memory (ArrayBuffer stores: socket chunks, result rows, their
// recording copies) so dead buffers do not pile up under load (issue 23). JavaScriptCore lets the heap grow
// in proportion to its size after the last collection, and counts libpg-query's WebAssembly memory (~270 MB
// reserved, mostly untouched) in that size: it let ~250 MB of dead 64 KiB chunks accumulate before
// collecting, which is where a 1,000-row wide-row load's RSS went (130 MB idle, 380 MB under load).
// Collecting after every BUDGET of new external memory bounds that at a cost of a ~2 ms collection per
// 32 MiB relayed.

/** New external bytes since the last collection that trigger the next one. */
export const GC_BUDGET_BYTES = 32 << 20;
/** How often external memory is looked at (`process.memoryUsage()` is ~5 µs). */
const CHECK_MS = 50;
/** At most one forced collection per this interval, so a live set that grows for real costs little. */
const MIN_GAP_MS = 100;

export interface GcPacerDeps {
  /** Bytes of external memory now (ArrayBuffer stores, WebAssembly memories). */
  external(): number;
  /** Runs a full synchronous collection. */
  collect(): void;
  now(): number;
}

const runtime: GcPacerDeps = {
  external: () => process.memoryUsage().external,
  collect: () => Bun.gc(true),
  now: () => performance.now(),
};

/** One check: collects when external memory grew by the budget since the last collection. */
export class GcPacer {
  private baseline: number;
  private lastAt = Number.NEGATIVE_INFINITY;
  collections = 0;

  constructor(
    private readonly deps: GcPacerDeps = runtime,
    private readonly budget = GC_BUDGET_BYTES,
  ) {
    this.baseline = deps.external();
  }

  check(): boolean {
    const ext = this.deps.external();
    // What a collection by the runtime itself freed lowers the baseline too.
    if (ext < this.baseline) this.baseline = ext;
    if (ext - this.baseline < this.budget) return false;
    const t = this.deps.now();
    if (t - this.lastAt < MIN_GAP_MS) return false;
    this.lastAt = t;
    this.deps.collect();
    this.collections++;
    this.baseline = this.deps.external();
    return true;
  }
}

/** Starts pacing on a timer that does not keep the process alive; returns its stop. */
export function startGcPacer(deps?: GcPacerDeps): () => void {
  const pacer = new GcPacer(deps);
  const timer = setInterval(() => pacer.check(), CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
