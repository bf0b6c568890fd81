// Wall-clock time in epoch microseconds, for frame timestamps and durations: performance.now() is monotonic
// and sub-millisecond, anchored once to the epoch by the process's time origin.
const origin = performance.timeOrigin;

export const nowMicros = (): number => Math.round((origin + performance.now()) * 1000);
