// Opaque cursors for paging: base64url JSON the client hands back unchanged. A cursor that does not decode
// to the expected shape is a 400, never a silent restart from the first page.
import { badRequest } from "./http-error.ts";

export function encodeCursor(value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export function decodeCursor<K extends string>(
  text: string,
  shape: Record<K, "string" | "number">,
): Record<K, string | number> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw badRequest("cursor is not one this API issued");
  }
  if (typeof value !== "object" || value === null) throw badRequest("cursor is not one this API issued");
  const obj = value as Record<string, unknown>;
  for (const [k, type] of Object.entries(shape)) {
    if (typeof obj[k] !== type) throw badRequest("cursor is not one this API issued");
  }
  return obj as Record<K, string | number>;
}

/** limit=1..max, default def; anything else is a 400. */
export function parseLimit(text: string | undefined, def: number, max: number): number {
  if (text === undefined) return def;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw badRequest(`limit must be an integer from 1 to ${max}`);
  return n;
}

/** An ISO 8601 time or epoch milliseconds. */
export function parseTime(name: string, text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw badRequest(`${name} must be an ISO 8601 time or epoch milliseconds`);
  return ms;
}
