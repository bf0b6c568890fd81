// The JSON view of a decoded event body, as the bundle ships it: keys sorted, byte strings as
// {"$base64": …}. The verifiers rebuild the same value from the msgpack bytes and compare.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export function toJsonValue(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return { $base64: Buffer.from(v).toString("base64") };
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "object") {
    const out: Record<string, JsonValue> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = toJsonValue(x);
    }
    return out;
  }
  if (typeof v === "bigint") return Number(v);
  return v as JsonValue;
}

/** JSON with keys sorted at every level: one text per value. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}
