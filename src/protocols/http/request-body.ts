// The request body as the policy reads it: forms read whole so the method-override field can be taken
// out (re-encoded without it), JSON and multipart bodies searched for one. Pure.
import { CustosError } from "../../core/errors.ts";
import { METHOD_PARAM, takeOverrides } from "./request.ts";

const decoder = new TextDecoder();

export function isIdentity(value: string | null): boolean {
  return value === null || value.trim() === "" || value.trim().toLowerCase() === "identity";
}

/** A method override written as a top-level member of a JSON object body, or null. */
export function overrideMember(body: unknown): string | null {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return null;
  for (const [k, v] of Object.entries(body)) {
    if (k.toLowerCase() === METHOD_PARAM) return typeof v === "string" ? v : "";
  }
  return null;
}

export type BodyType = "json" | "form" | "multipart" | "other";

/**
 * A JSON or form body in a charset other than UTF-8 (or ASCII) would read differently upstream than in
 * the policy input: refused rather than decided on a misreading. Null when the charset is fine.
 */
export function unreadableCharset(req: Request, type: BodyType): string | null {
  if (type !== "json" && type !== "form") return null;
  const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers.get("content-type") ?? "");
  const cs = m?.[1]?.toLowerCase();
  return cs === undefined || cs === "utf-8" || cs === "utf8" || cs === "us-ascii" ? null : cs;
}

export function requestBodyType(req: Request): BodyType {
  const ct = req.headers.get("content-type")?.trim().toLowerCase() ?? "";
  if (/^application\/(?:[\w.+-]+\+)?json\b/.test(ct)) return "json";
  if (ct.startsWith("application/x-www-form-urlencoded")) return "form";
  if (ct.startsWith("multipart/form-data")) return "multipart";
  return "other";
}

/**
 * A form body read whole: its fields for the policy, `_method` taken out (and returned when the
 * connection honours overrides). A multipart body is not rewritten: one carrying `_method` is refused.
 */
export function formBody(
  bytes: Uint8Array,
  type: "form" | "multipart",
  honour: boolean,
): CustosError | { override?: string; bytes?: Uint8Array; fields?: Record<string, string[]> } {
  if (type === "multipart") {
    const text = decoder.decode(bytes);
    const m =
      /content-disposition:[^\r\n]*name="?(?:_method|x-http-method-override|x-http-method|x-method-override)"?[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([^\r\n]*)/i.exec(
        text,
      );
    if (!m) return {};
    if (!honour)
      return new CustosError(
        "protocol.malformed",
        `a ${METHOD_PARAM} field in a multipart body is not relayed`,
      );
    return { override: m[1]! };
  }
  const params = new URLSearchParams(decoder.decode(bytes));
  const overrides = takeOverrides(params);
  const fields: Record<string, string[]> = {};
  if (overrides.length > 1 && new Set(overrides).size > 1)
    return new CustosError("protocol.malformed", "conflicting method overrides");
  const collect = () => {
    for (const [k, v] of params) {
      const list = fields[k];
      if (list) list.push(v);
      else fields[k] = [v];
    }
  };
  if (overrides.length === 0) {
    collect();
    return { fields };
  }
  collect();
  return {
    ...(honour ? { override: overrides[0]! } : {}),
    bytes: new TextEncoder().encode(params.toString()),
    fields,
  };
}

/**
 * Where the body is too large for the policy to read (a large upload, a large JSON document), a method
 * override inside it cannot be stripped: the part header or the JSON key naming it is looked for as the
 * body streams, and the upload is aborted there, so the upstream gets a truncated body it will not run.
 * The pattern is searched across chunk boundaries (a short tail of the previous chunk is kept).
 */
const OVERRIDE_IN_STREAM: Record<"multipart" | "json", RegExp> = {
  multipart: /content-disposition:[^\r\n]*\bname\s*=\s*"?_method(?=["';\s]|$)/i,
  json: /"(?:_|\\u005f)method"\s*:/i,
};
const TAIL = 256;
const latin1 = new TextDecoder("latin1");

export function refuseOverrideInStream(type: "multipart" | "json"): TransformStream<Uint8Array, Uint8Array> {
  const pattern = OVERRIDE_IN_STREAM[type];
  let tail = "";
  return new TransformStream({
    transform(chunk, controller) {
      const text = tail + latin1.decode(chunk);
      if (pattern.test(text)) {
        controller.error(
          new CustosError(
            "protocol.malformed",
            `a ${METHOD_PARAM} field in a body too large for the policy to read is not relayed`,
          ),
        );
        return;
      }
      tail = text.slice(-TAIL);
      controller.enqueue(chunk);
    },
  });
}
