// Human durations in the config ("500ms", "30s", "15m", "8h", "1h30m", "2d", "7y" with y = 365d) to milliseconds.

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  y: 365 * 86_400_000,
};
const WHOLE = /^(?:\d+(?:ms|s|m|h|d|y))+$/;
const PART = /(\d+)(ms|s|m|h|d|y)/g;

/** Returns milliseconds, or null when the text is not a duration. */
export function parseDuration(text: string): number | null {
  if (!WHOLE.test(text)) return null;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART))
    total += Number(amount) * (UNIT_MS[unit!] ?? Number.NaN);
  return Number.isSafeInteger(total) ? total : null;
}
