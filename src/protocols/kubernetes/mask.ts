// How a Kubernetes API response reaches the client: JSON documents and watch streams (one JSON event per
// line, apimachinery's json watch framing) decoded, Secret values removed for agents, then the decision's
// mask rules (names and detectors) applied; container logs through the text detectors. Anything else
// that needs masking is refused, never forwarded raw (ENFORCEMENT.md §5).
import type { MaskRule } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { FieldPlans } from "../../masking/field-plans.ts";
import { type JsonMaskEvidence, type JsonMasker, jsonMasker } from "../../masking/json-mask.ts";
import { maskTextStream } from "../../masking/text-mask.ts";
import { maskSecrets } from "./secret-mask.ts";

export interface ResponseMaskPlan {
  /** Secret values are removed (agents, always). */
  secrets: boolean;
  /** The request's resource is core `secrets`: every object in the response is one. */
  secretsResource: boolean;
  /** The decision's rules, or null when it names none. */
  json: JsonMasker | null;
  plans: FieldPlans | null;
  /** Counts for the audit event (values never). */
  evidence: JsonMaskEvidence;
  secretValues: number;
}

/** Throws CustosError("policy.unavailable") when a rule cannot be honoured (the caller denies). */
export function responseMaskPlan(
  engine: MaskingEngine,
  rules: readonly MaskRule[],
  secrets: boolean,
  secretsResource: boolean,
): ResponseMaskPlan | null {
  if (!secrets && rules.length === 0) return null;
  const json = rules.length > 0 ? jsonMasker(engine, rules) : null;
  const evidence = json ? json.evidence : { rules: {}, detectors: {} };
  const plans = json ? new FieldPlans(engine, rules, evidence) : null;
  return { secrets, secretsResource, json, plans, evidence, secretValues: 0 };
}

/** The media type without parameters, lower-cased. */
export function mediaType(contentType: string | null): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

export function isJsonType(contentType: string | null): boolean {
  const t = mediaType(contentType);
  return t === "application/json" || (t.startsWith("application/") && t.endsWith("+json"));
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Masks one parsed JSON value in place and returns the value to send. */
export function maskValue(plan: ResponseMaskPlan, value: unknown): unknown {
  if (plan.secrets) plan.secretValues += maskSecrets(value, plan.secretsResource).values;
  return plan.json ? plan.json.mask(value) : value;
}

/** One whole JSON document; throws upstream.protocol when it is not JSON. */
export function maskDocument(plan: ResponseMaskPlan, bytes: Uint8Array): Uint8Array {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new CustosError("upstream.protocol", "the API server's JSON response does not parse; not relayed");
  }
  return encoder.encode(JSON.stringify(maskValue(plan, value)));
}

/**
 * A watch stream: newline-terminated JSON events, each masked as it completes (kubectl sees every event
 * as soon as the API server sends it). An event longer than `bound` bytes ends the stream (fail closed).
 */
export function maskWatchStream(
  plan: ResponseMaskPlan,
  bound: number,
): TransformStream<Uint8Array, Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const emit = (line: Uint8Array, controller: TransformStreamDefaultController<Uint8Array>) => {
    if (line.length === 0 || (line.length === 1 && line[0] === 13)) return;
    const masked = maskDocument(plan, line);
    const out = new Uint8Array(masked.length + 1);
    out.set(masked, 0);
    out[masked.length] = 10;
    controller.enqueue(out);
  };
  return new TransformStream({
    transform(chunk, controller) {
      let from = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
        const piece = chunk.subarray(from, nl);
        const line = pendingBytes === 0 ? piece : concat([...pending, piece], pendingBytes + piece.length);
        pending = [];
        pendingBytes = 0;
        emit(line, controller);
        from = nl + 1;
      }
      if (from < chunk.length) {
        const rest = new Uint8Array(chunk.subarray(from));
        pending.push(rest);
        pendingBytes += rest.length;
        if (pendingBytes > bound)
          throw new CustosError(
            "upstream.protocol",
            `a watch event exceeds ${bound} bytes, the bound for masking`,
          );
      }
    },
    flush(controller) {
      if (pendingBytes > 0) emit(concat(pending, pendingBytes), controller);
    },
  });
}

/** Container logs (`pods/log`), followed or not: the decision's detectors over the text. */
export function maskLogStream(
  plan: ResponseMaskPlan,
  bound: number,
): TransformStream<Uint8Array, Uint8Array> | null {
  return plan.plans ? maskTextStream(plan.plans, bound) : null;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
