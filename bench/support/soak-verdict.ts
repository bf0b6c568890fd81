// The soak test's verdict (issue 23), a pure function of the samples bench/soak.ts takes every few seconds:
// after the warm-up, the gateway's RSS stays within 10% of where it settled, nothing failed, and the
// recorder's queue does not grow. Both are judged on the means of the first and last thirds after the
// warm-up: RSS rides a garbage-collection sawtooth (10–15% here with 1,000 sessions) and the queue depth
// moves with every group commit, so single samples say little; a leak moves the mean. The peak is reported.

export interface SoakSample {
  /** Seconds since the load started. */
  t: number;
  /** Gateway RSS, KiB. */
  rssKb: number;
  /** custos_audit_queue_depth: events and frames accepted but not committed. */
  queueDepth: number;
  /** Errors so far (client-side failures and failed audit commits), cumulative. */
  errors: number;
  /** Statements and requests answered so far, cumulative. */
  done: number;
}

export interface SoakCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface SoakVerdict {
  ok: boolean;
  checks: SoakCheck[];
}

/** Where bench/run --soak leaves its last verdict (relative to the repository root; bench/out is not committed). */
export const SOAK_LAST = "bench/out/soak-last.json";

/** The last third's mean RSS may exceed the first third's (after warm-up) by this much. */
export const RSS_BAND = 0.1;
/** The queue's last third may exceed its first third by this factor plus QUEUE_SLACK entries. */
export const QUEUE_GROWTH = 1.25;
export const QUEUE_SLACK = 16;
/** Fewer samples than this after the warm-up cannot show a trend. */
export const MIN_SAMPLES = 6;

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

export function soakVerdict(samples: readonly SoakSample[], warmupSeconds: number): SoakVerdict {
  const steady = samples.filter((s) => s.t >= warmupSeconds);
  if (steady.length < MIN_SAMPLES) {
    return {
      ok: false,
      checks: [
        {
          name: "samples",
          ok: false,
          detail: `${steady.length} samples after a ${warmupSeconds} s warm-up; at least ${MIN_SAMPLES} are needed`,
        },
      ],
    };
  }
  const third = Math.max(1, Math.floor(steady.length / 3));
  const first = steady.slice(0, third);
  const last = steady.slice(-third);

  const settled = mean(first.map((s) => s.rssKb));
  const peak = Math.max(...steady.slice(third).map((s) => s.rssKb));
  const lastRss = mean(last.map((s) => s.rssKb));
  const rise = lastRss / settled - 1;
  const rss: SoakCheck = {
    name: "RSS flat",
    ok: Number.isFinite(rise) && rise <= RSS_BAND,
    detail: `mean ${(settled / 1024).toFixed(1)} MB in the first third after warm-up, ${(lastRss / 1024).toFixed(1)} MB in the last (${pct(rise)}; band ${pct(RSS_BAND)}); peak after the first third ${(peak / 1024).toFixed(1)} MB (${pct(peak / settled - 1)})`,
  };

  const errorsAfter = samples.at(-1)!.errors;
  const errors: SoakCheck = {
    name: "no errors",
    ok: errorsAfter === 0,
    detail: `${errorsAfter} errors over the run (warm-up included) in ${samples.at(-1)!.done} statements and requests`,
  };

  const qFirst = mean(first.map((s) => s.queueDepth));
  const qLast = mean(last.map((s) => s.queueDepth));
  const queue: SoakCheck = {
    name: "recorder queue not growing",
    ok: qLast <= qFirst * QUEUE_GROWTH + QUEUE_SLACK,
    detail: `mean depth ${qFirst.toFixed(1)} in the first third after warm-up, ${qLast.toFixed(1)} in the last (max ${Math.max(...steady.map((s) => s.queueDepth))}); allowed ${(qFirst * QUEUE_GROWTH + QUEUE_SLACK).toFixed(1)}`,
  };

  // A load that stopped (every session stuck) would look flat too: the answered count must keep rising.
  const doneFirst = first.at(-1)!.done - first[0]!.done;
  const doneLast = last.at(-1)!.done - last[0]!.done;
  const progress: SoakCheck = {
    name: "load kept going",
    ok: doneLast > 0 && doneLast >= doneFirst * 0.5,
    detail: `${doneFirst} answered in the first third after warm-up, ${doneLast} in the last`,
  };

  const checks = [rss, errors, queue, progress];
  return { ok: checks.every((c) => c.ok), checks };
}

function pct(x: number): string {
  return `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
}
