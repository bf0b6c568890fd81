// Recorded values hold raw bytes (DataRow cells, bind parameters, COPY data); JSON cannot. Valid UTF-8
// becomes a string, anything else {"base64": "..."} so nothing is lost or mangled.
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    try {
      return utf8.decode(value);
    } catch {
      return { base64: Buffer.from(value).toString("base64") };
    }
  }
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJsonValue(v);
    return out;
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** A cell for display: text stays text; binary (format 1 or invalid UTF-8) shows as \x hex, like psql. */
export function cellText(value: unknown, binary: boolean): string | null {
  if (value === null || value === undefined) return null;
  if (!(value instanceof Uint8Array)) return String(value);
  if (!binary) {
    try {
      return utf8.decode(value);
    } catch {
      // fall through to hex
    }
  }
  return `\\x${Buffer.from(value).toString("hex")}`;
}
