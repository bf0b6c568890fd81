import { describe, expect, test } from "bun:test";
import { GcPacer, type GcPacerDeps } from "./gc-pacer.ts";

/** External memory as a test sets it; a collection frees down to `live`. */
function fake(start: number) {
  const s = { ext: start, live: start, t: 0, collected: 0 };
  const deps: GcPacerDeps = {
    external: () => s.ext,
    collect: () => {
      s.collected++;
      s.ext = s.live;
    },
    now: () => s.t,
  };
  return { s, deps };
}

describe("GcPacer", () => {
  test("collects once external memory grew by the budget since the last collection", () => {
    const { s, deps } = fake(300);
    const pacer = new GcPacer(deps, 32);
    s.ext = 331;
    expect(pacer.check()).toBe(false);
    s.ext = 332;
    expect(pacer.check()).toBe(true);
    expect(s.collected).toBe(1);
    // The baseline is what the collection left: the next one waits for another budget.
    s.t = 1000;
    s.ext = 320;
    expect(pacer.check()).toBe(false);
  });

  test("a live set that really grows does not collect on every check: the baseline follows it", () => {
    const { s, deps } = fake(100);
    const pacer = new GcPacer(deps, 32);
    s.live = 140;
    s.ext = 140;
    s.t = 1000;
    expect(pacer.check()).toBe(true);
    s.t = 2000;
    expect(pacer.check()).toBe(false);
    expect(s.collected).toBe(1);
  });

  test("at most one collection per gap, however fast memory grows", () => {
    const { s, deps } = fake(0);
    const pacer = new GcPacer(deps, 32);
    s.live = 1000;
    s.ext = 1000;
    s.t = 500;
    expect(pacer.check()).toBe(true);
    s.live = 2000;
    s.ext = 2000;
    s.t = 550;
    expect(pacer.check()).toBe(false);
    s.t = 600;
    expect(pacer.check()).toBe(true);
  });

  test("memory the runtime freed by itself lowers the baseline", () => {
    const { s, deps } = fake(300);
    const pacer = new GcPacer(deps, 32);
    s.ext = 250;
    expect(pacer.check()).toBe(false);
    s.ext = 282;
    s.t = 1000;
    expect(pacer.check()).toBe(true);
  });
});
