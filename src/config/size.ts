// Byte sizes in the config ("512", "64KiB", "8MiB", "1GiB", or a plain number of bytes).

const UNIT: Record<string, number> = {
  "": 1,
  b: 1,
  kib: 1 << 10,
  kb: 1000,
  mib: 1 << 20,
  mb: 1e6,
  gib: 1 << 30,
  gb: 1e9,
};

/** Returns bytes, or null when the value is not a non-negative whole size. */
export function parseSize(value: number | string): number | null {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : null;
  const m = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  if (!m) return null;
  const unit = UNIT[m[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : null;
}
