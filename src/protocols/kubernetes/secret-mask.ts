// Secret values never reach an agent: every Secret's `data` and `stringData` values, and the
// last-applied-configuration annotation that repeats them, are replaced wherever a Secret appears in a
// response (a Secret, a SecretList's items, a Table's row objects, a watch event's object). Pure.
//
// Keys stay (kubectl describe shows them with sizes); values become base64 of "[REDACTED]" in `data`
// (clients decode `data` as base64 into bytes, so a non-base64 marker would break `kubectl get -o yaml`)
// and "[REDACTED]" in `stringData`.

export const REDACTED_TEXT = "[REDACTED]";
export const REDACTED_BASE64 = Buffer.from(REDACTED_TEXT).toString("base64");
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

export interface SecretMaskCount {
  /** Values replaced (data/stringData entries and annotations). */
  values: number;
}

/**
 * Masks in place and returns the count. `secretsResource`: the request's resource is `secrets` (core
 * group), so every object in the response is a Secret or a list/table/event of them, kind or not (the
 * items of a SecretList carry no kind).
 */
export function maskSecrets(value: unknown, secretsResource: boolean): SecretMaskCount {
  const count: SecretMaskCount = { values: 0 };
  walk(value, secretsResource, count, 0);
  return count;
}

// Deeper than any API object the server emits; a body nested past it is refused by the caller's JSON
// parser long before, but the walk must terminate on anything.
const MAX_DEPTH = 512;

function walk(value: unknown, inSecret: boolean, count: SecretMaskCount, depth: number): void {
  if (depth > MAX_DEPTH) throw new Error("the response nests deeper than the masker follows");
  if (Array.isArray(value)) {
    for (const v of value) walk(v, inSecret, count, depth + 1);
    return;
  }
  if (value === null || typeof value !== "object") return;
  const obj = value as Record<string, unknown>;
  const secret = inSecret || obj.kind === "Secret";
  if (secret) {
    for (const member of ["data", "stringData"] as const) {
      const m = obj[member];
      if (m === null || typeof m !== "object" || Array.isArray(m)) {
        // A Secret's data that is not a map is not something the API server sends; never forward it.
        if (m !== undefined && m !== null && obj.kind === "Secret") {
          obj[member] = {};
          count.values++;
        }
        continue;
      }
      const map = m as Record<string, unknown>;
      for (const k of Object.keys(map)) {
        map[k] = member === "data" ? REDACTED_BASE64 : REDACTED_TEXT;
        count.values++;
      }
    }
    const annotations = (obj.metadata as Record<string, unknown> | undefined)?.annotations;
    if (annotations && typeof annotations === "object" && LAST_APPLIED in annotations) {
      (annotations as Record<string, unknown>)[LAST_APPLIED] = REDACTED_TEXT;
      count.values++;
    }
  }
  for (const k of Object.keys(obj)) {
    if (secret && (k === "data" || k === "stringData")) continue;
    walk(obj[k], secret, count, depth + 1);
  }
}

/**
 * A response body as the session recording may hold it, whoever asked: Secret values removed from a JSON
 * document or from each line of a watch stream. A body that may hold a Secret but cannot be parsed (cut
 * at the recording bound, not JSON) is not recorded at all.
 */
export function recordableBody(text: string, secretsResource: boolean): string {
  if (!secretsResource && !text.includes('"Secret"')) return text;
  try {
    const doc = JSON.parse(text) as unknown;
    maskSecrets(doc, secretsResource);
    return JSON.stringify(doc);
  } catch {}
  try {
    return text
      .split("\n")
      .map((line) => {
        if (line.trim() === "") return line;
        const event = JSON.parse(line) as unknown;
        maskSecrets(event, secretsResource);
        return JSON.stringify(event);
      })
      .join("\n");
  } catch {
    return "[not recorded: a response that may hold Secret values and could not be masked]";
  }
}
