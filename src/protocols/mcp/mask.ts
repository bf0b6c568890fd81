// Upstream results masked for the decision's rules (ENFORCEMENT.md 5): structured content and JSON text by
// member names and detectors (the HTTP masker's), other text by detectors. Tool results, resource contents,
// prompt messages and the descriptions in lists all go through the same text masker; a content kind it
// cannot read (images, audio, binary blobs, links) refuses the whole result rather than pass it raw.
import type { MaskRule } from "../../core/decision.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { FieldPlans } from "../../masking/field-plans.ts";
import { jsonMasker } from "../../masking/json-mask.ts";
import { maskText } from "../../masking/text-mask.ts";
import type { UpstreamContents, UpstreamPromptResult, UpstreamResult } from "./upstream.ts";

export type Evidence = { rules: Record<string, number>; detectors: Record<string, number> };
export type Masked<T> = { ok: true; result: T; evidence: Evidence } | { ok: false; reason: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One masker for one result: text (JSON-aware), JSON values, and the evidence of what it masked. */
export function resultMasker(engine: MaskingEngine, rules: readonly MaskRule[]) {
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
  /** A content block masked, or null when its kind cannot be masked. */
  const block = (item: Record<string, unknown>): Record<string, unknown> | null => {
    if (item.type === "text" && typeof item.text === "string") return { type: "text", text: text(item.text) };
    const resource = item.resource as { uri?: unknown; text?: unknown; mimeType?: unknown } | undefined;
    if (item.type === "resource" && resource && typeof resource.text === "string")
      return {
        type: "resource",
        resource: {
          uri: text(String(resource.uri ?? "")),
          text: text(resource.text),
          ...(typeof resource.mimeType === "string" ? { mimeType: resource.mimeType } : {}),
        },
      };
    return null;
  };
  return { text, json, block, evidence: json.evidence as Evidence };
}

/** Throws (CustosError policy.unavailable) when a rule cannot be honoured; the caller refuses. */
export function maskResult(
  engine: MaskingEngine,
  rules: readonly MaskRule[],
  result: UpstreamResult,
): Masked<UpstreamResult> {
  const m = resultMasker(engine, rules);
  const content: Record<string, unknown>[] = [];
  for (const item of result.content ?? []) {
    const masked = m.block(item);
    if (!masked) return { ok: false, reason: `a result with ${String(item.type)} content cannot be masked` };
    content.push(masked);
  }
  const out: UpstreamResult = { content };
  if (result.structuredContent !== undefined)
    out.structuredContent = m.json.mask(structuredClone(result.structuredContent)) as Record<string, unknown>;
  if (result.isError) out.isError = true;
  return { ok: true, result: out, evidence: m.evidence };
}

/** resources/read contents: text masked; a binary blob cannot be, so the whole read is refused. */
export function maskContents(
  engine: MaskingEngine,
  rules: readonly MaskRule[],
  result: UpstreamContents,
): Masked<UpstreamContents> {
  const m = resultMasker(engine, rules);
  const contents: UpstreamContents["contents"] = [];
  for (const c of result.contents ?? []) {
    if (!("text" in c) || typeof c.text !== "string")
      return { ok: false, reason: "a resource with binary contents cannot be masked" };
    contents.push({
      uri: m.text(String(c.uri)),
      text: m.text(c.text),
      ...(typeof c.mimeType === "string" ? { mimeType: c.mimeType } : {}),
    });
  }
  return { ok: true, result: { contents }, evidence: m.evidence };
}

/** prompts/get messages: each message's content block masked; the description as text. */
export function maskPrompt(
  engine: MaskingEngine,
  rules: readonly MaskRule[],
  result: UpstreamPromptResult,
): Masked<UpstreamPromptResult> {
  const m = resultMasker(engine, rules);
  const messages: UpstreamPromptResult["messages"] = [];
  for (const msg of result.messages ?? []) {
    const content = m.block(msg.content ?? {});
    if (!content)
      return { ok: false, reason: `a prompt with ${String(msg.content?.type)} content cannot be masked` };
    messages.push({ role: msg.role === "assistant" ? "assistant" : "user", content });
  }
  const out: UpstreamPromptResult = { messages };
  if (typeof result.description === "string") out.description = m.text(result.description);
  return { ok: true, result: out, evidence: m.evidence };
}
