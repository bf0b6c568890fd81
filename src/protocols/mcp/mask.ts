// An upstream tool result masked for the decision's rules (ENFORCEMENT.md 5): structured content and JSON
// text by member names and detectors (the HTTP masker's), other text by detectors; a content kind the
// masker cannot read (images, audio, binary resources) refuses the whole result rather than pass it raw.
import type { MaskRule } from "../../core/decision.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { FieldPlans } from "../../masking/field-plans.ts";
import { jsonMasker } from "../../masking/json-mask.ts";
import { maskText } from "../../masking/text-mask.ts";
import type { UpstreamResult } from "./upstream.ts";

export type Masked =
  | {
      ok: true;
      result: UpstreamResult;
      evidence: { rules: Record<string, number>; detectors: Record<string, number> };
    }
  | { ok: false; reason: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Throws (CustosError policy.unavailable) when a rule cannot be honoured; the caller refuses. */
export function maskResult(
  engine: MaskingEngine,
  rules: readonly MaskRule[],
  result: UpstreamResult,
): Masked {
  const json = jsonMasker(engine, rules);
  const plans = new FieldPlans(engine, rules, json.evidence);
  const text = (s: string): string => {
    const trimmed = s.trimStart();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try {
        return JSON.stringify(json.mask(JSON.parse(s)));
      } catch {
        // Not JSON after all: masked as text below.
      }
    }
    return decoder.decode(maskText(plans, encoder.encode(s)));
  };
  const content: Record<string, unknown>[] = [];
  for (const item of result.content ?? []) {
    if (item.type === "text" && typeof item.text === "string") {
      content.push({ type: "text", text: text(item.text) });
      continue;
    }
    const resource = item.resource as { uri?: unknown; text?: unknown; mimeType?: unknown } | undefined;
    if (item.type === "resource" && resource && typeof resource.text === "string") {
      content.push({
        type: "resource",
        resource: {
          uri: String(resource.uri ?? ""),
          text: text(resource.text),
          ...(typeof resource.mimeType === "string" ? { mimeType: resource.mimeType } : {}),
        },
      });
      continue;
    }
    return { ok: false, reason: `a result with ${String(item.type)} content cannot be masked` };
  }
  const out: UpstreamResult = { content };
  if (result.structuredContent !== undefined)
    out.structuredContent = json.mask(structuredClone(result.structuredContent)) as Record<string, unknown>;
  if (result.isError) out.isError = true;
  return { ok: true, result: out, evidence: json.evidence };
}
