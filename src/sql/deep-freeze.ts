// Classifications are cached and shared by every session that sends the same text: frozen all the way
// down, so no caller can change what the next one is handed.

export function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}
