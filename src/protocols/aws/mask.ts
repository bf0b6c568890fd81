// What a response body becomes on its way to the caller. Every buffered body (JSON, XML) has the
// upstream's addresses rewritten to the gateway's (SQS QueueUrl, S3 Location) and the target's key id
// scrubbed (S3 and STS echo it in errors); for masked identities it is also masked: DynamoDB items by
// attribute name and detectors (the AttributeValue shape kept, so SDKs still decode it), other JSON by
// member name, XML by element name, S3 text objects as a stream by detectors. Object types no masker
// reads are refused to masked identities unless the connection lists them.
import { CustosError } from "../../core/errors.ts";
import type { FieldPlans } from "../../masking/field-plans.ts";
import type { JsonMasker } from "../../masking/json-mask.ts";
import { maskXml } from "../../masking/structured-mask.ts";
import { maskTextStream } from "../../masking/text-mask.ts";
import { contentKind, listedType } from "../http/content-kind.ts";

export interface Rewrites {
  /** [from, to] pairs applied to buffered bodies and Location headers, in order. */
  pairs: readonly (readonly [string, string])[];
}

/** Upstream origin → the origin the caller used; the target key id → a placeholder. */
export function rewritesFor(upstreamOrigin: string, clientOrigin: string, targetKeyIds: string[]): Rewrites {
  const up = new URL(upstreamOrigin);
  const hostOnly = `${up.protocol}//${up.host}`;
  const pairs: [string, string][] = [[hostOnly, clientOrigin]];
  // Servers often name themselves by the Host they were sent; without the default port too.
  for (const id of new Set(targetKeyIds)) if (id.length >= 8) pairs.push([id, "[upstream key id]"]);
  return { pairs };
}

export function applyRewrites(text: string, r: Rewrites): string {
  let out = text;
  for (const [from, to] of r.pairs) if (out.includes(from)) out = out.replaceAll(from, to);
  return out;
}

export interface Masking {
  json: JsonMasker;
  plans: FieldPlans;
}

const ATTRIBUTE_TYPES = new Set(["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"]);

function attributeValue(v: unknown): [string, unknown] | null {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return null;
  const keys = Object.keys(v);
  if (keys.length !== 1 || !ATTRIBUTE_TYPES.has(keys[0]!)) return null;
  return [keys[0]!, (v as Record<string, unknown>)[keys[0]!]];
}

/**
 * A DynamoDB response masked in place: each attribute's value by the attribute's name (and nested map
 * members by theirs), every other string by the detectors. A masked number or binary becomes a string
 * attribute, which the SDKs decode as such.
 */
export function maskDynamo(plans: FieldPlans, value: unknown): unknown {
  const attr = (name: string, av: Record<string, unknown>): Record<string, unknown> => {
    const [type, inner] = attributeValue(av)!;
    switch (type) {
      case "S":
      case "N":
      case "B": {
        const text = String(inner);
        const masked = plans.field(name, text);
        if (masked === text) return av;
        return { S: masked };
      }
      case "SS":
      case "NS":
      case "BS": {
        const list = Array.isArray(inner) ? inner.map((x) => String(x)) : [];
        const masked = list.map((x) => plans.field(name, x));
        if (masked.every((m, i) => m === list[i])) return av;
        return { SS: [...new Set(masked)] };
      }
      case "M":
        return { M: walkItem(inner) };
      case "L":
        return {
          L: Array.isArray(inner)
            ? inner.map((x) => (attributeValue(x) ? attr(name, x as Record<string, unknown>) : walk(x)))
            : inner,
        };
      default:
        return av;
    }
  };
  const walkItem = (item: unknown): unknown => {
    if (item === null || typeof item !== "object" || Array.isArray(item)) return walk(item);
    const obj = item as Record<string, unknown>;
    for (const k of Object.keys(obj)) {
      const v = obj[k];
      obj[k] = attributeValue(v) ? attr(k, v as Record<string, unknown>) : walk(v);
    }
    return obj;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return plans.scan(v, plans.anonymous);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === "object") {
      const obj = v as Record<string, unknown>;
      // An item is an object whose members are attribute values.
      const members = Object.values(obj);
      if (members.length > 0 && members.every((m) => attributeValue(m) !== null)) return walkItem(obj);
      for (const k of Object.keys(obj)) obj[k] = walk(obj[k]);
      return obj;
    }
    return v;
  };
  return walk(value);
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** A buffered JSON or XML response body: rewritten, and masked when `masking` is set. */
export function maskDocument(
  service: string,
  kind: "json" | "xml",
  bytes: Uint8Array,
  rewrites: Rewrites,
  masking: Masking | null,
): Uint8Array {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new CustosError("upstream.protocol", "the response body is not UTF-8 and cannot be checked");
  }
  text = applyRewrites(text, rewrites);
  if (masking === null || text.trim() === "") return encoder.encode(text);
  if (kind === "xml") return encoder.encode(maskXml(masking.plans, text));
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CustosError("upstream.protocol", "the response body is not valid JSON and cannot be masked");
  }
  const masked = service === "dynamodb" ? maskDynamo(masking.plans, parsed) : masking.json.mask(parsed);
  return encoder.encode(JSON.stringify(masked));
}

/** How an S3 object's body reaches a masked identity: a masking stream, as is (listed type), or refused. */
export function objectMasking(
  contentType: string | null,
  masking: Masking,
  unmaskedTypes: readonly string[],
  bound: number,
): TransformStream<Uint8Array, Uint8Array> | "relay" | CustosError {
  if (listedType(contentType, unmaskedTypes)) return "relay";
  const kind = contentKind(contentType);
  if (kind === "opaque")
    return new CustosError(
      "policy.denied",
      `objects of type ${contentType ?? "(none)"} cannot be masked and are not relayed to masked identities`,
    );
  // JSON, CSV, XML and plain text are all read by the detectors as text: values of a regulated kind are
  // found wherever they stand, whatever the structure around them.
  return maskTextStream(masking.plans, bound);
}
