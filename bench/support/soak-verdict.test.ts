import { describe, expect, test } from "bun:test";
import { type SoakSample, soakVerdict } from "./soak-verdict.ts";

/** A steady run: one sample every 5 s for `n` samples, RSS and queue given per sample. */
function run(n: number, rss: (i: number) => number, queue: (i: number) => number, errors = 0): SoakSample[] {
  return Array.from({ length: n }, (_, i) => ({
    t: i * 5,
    rssKb: rss(i),
    queueDepth: queue(i),
    errors: i === n - 1 ? errors : 0,
    done: i * 500,
  }));
}
const byName = (v: ReturnType<typeof soakVerdict>, name: string) => v.checks.find((c) => c.name === name)!;

describe("soak verdict", () => {
  test("a flat run with a jittery queue passes", () => {
    const v = soakVerdict(
      run(
        60,
        (i) => 200_000 + (i % 3) * 5_000,
        (i) => (i % 4) * 3,
      ),
      30,
    );
    expect(v.checks.map((c) => [c.name, c.ok])).toEqual([
      ["RSS flat", true],
      ["no errors", true],
      ["recorder queue not growing", true],
      ["load kept going", true],
    ]);
    expect(v.ok).toBe(true);
  });

  test("a high warm-up is not held against the run, a slow leak after it is", () => {
    const warm = (i: number) => (i < 6 ? 400_000 : 200_000);
    expect(
      soakVerdict(
        run(60, warm, () => 0),
        30,
      ).ok,
    ).toBe(true);
    // +0.5% per sample after warm-up: ~25% over the run.
    const leak = (i: number) => 200_000 * (1 + 0.005 * i);
    const v = soakVerdict(
      run(60, leak, () => 0),
      30,
    );
    expect(byName(v, "RSS flat").ok).toBe(false);
    expect(v.ok).toBe(false);
  });

  test("a rise just inside the band passes, just outside fails", () => {
    const step = (top: number) => (i: number) => (i < 30 ? 200_000 : top);
    expect(
      byName(
        soakVerdict(
          run(60, step(219_000), () => 0),
          0,
        ),
        "RSS flat",
      ).ok,
    ).toBe(true);
    expect(
      byName(
        soakVerdict(
          run(60, step(222_000), () => 0),
          0,
        ),
        "RSS flat",
      ).ok,
    ).toBe(false);
  });

  test("a garbage-collection sawtooth around a level mean is flat, the same sawtooth climbing is not", () => {
    // 200 MB, +8 MB per sample for 5 samples, then collected: peaks 24% above the troughs.
    const saw = (i: number) => 200_000 + (i % 6) * 8_000;
    const level = soakVerdict(
      run(60, saw, () => 0),
      30,
    );
    expect(byName(level, "RSS flat").ok).toBe(true);
    expect(byName(level, "RSS flat").detail).toContain("peak");
    const climbing = soakVerdict(
      run(
        60,
        (i) => saw(i) + i * 1_000,
        () => 0,
      ),
      30,
    );
    expect(byName(climbing, "RSS flat").ok).toBe(false);
  });

  test("one error fails the run", () => {
    const v = soakVerdict(
      run(
        60,
        () => 200_000,
        () => 0,
        1,
      ),
      30,
    );
    expect(byName(v, "no errors").ok).toBe(false);
    expect(v.ok).toBe(false);
  });

  test("a queue that grows fails, one that stays deep but level passes", () => {
    expect(
      byName(
        soakVerdict(
          run(
            60,
            () => 200_000,
            (i) => i * 20,
          ),
          30,
        ),
        "recorder queue not growing",
      ).ok,
    ).toBe(false);
    expect(
      byName(
        soakVerdict(
          run(
            60,
            () => 200_000,
            () => 400,
          ),
          30,
        ),
        "recorder queue not growing",
      ).ok,
    ).toBe(true);
  });

  test("a load that stopped is not a pass", () => {
    const samples = run(
      60,
      () => 200_000,
      () => 0,
    ).map((s) => ({ ...s, done: Math.min(s.done, 10_000) }));
    const v = soakVerdict(samples, 30);
    expect(byName(v, "load kept going").ok).toBe(false);
    expect(v.ok).toBe(false);
  });

  test("too few samples after warm-up is no verdict", () => {
    const v = soakVerdict(
      run(
        8,
        () => 200_000,
        () => 0,
      ),
      30,
    );
    expect(v.ok).toBe(false);
    expect(v.checks[0]!.name).toBe("samples");
  });
});
