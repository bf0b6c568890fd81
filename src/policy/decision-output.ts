// Strict validation of what the policy returned. The policy is code the gateway runs; a decision that
// is not exactly the contract's shape is a deny (`custos.invalid_decision`), never a guess.

import type { Decision, MaskRule } from "../core/decision.ts";
import { deny } from "../core/decision.ts";

export const INVALID_DECISION = "custos.invalid_decision";

const ACTIONS = new Set(["allow", "deny", "review"]);
const RECORDS = new Set(["sync", "buffered"]);
const METHODS = new Set(["redact", "partial", "hash", "null"]);
const DECISION_KEYS = new Set(["action", "reason", "rule", "mask", "record", "cache"]);
const MASK_KEYS = new Set(["column", "detector", "method"]);

export interface PolicyDecision extends Decision {
  /** False when the policy's answer depends on more than the cache key (time, session, literals). */
  cache: boolean;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function maskRule(v: unknown): MaskRule | string {
  if (!isPlainObject(v)) return "mask entry is not an object";
  for (const key of Object.keys(v)) if (!MASK_KEYS.has(key)) return `mask entry has unknown field ${key}`;
  if (typeof v.method !== "string" || !METHODS.has(v.method)) return "mask entry has no valid method";
  const hasColumn = typeof v.column === "string" && v.column.length > 0;
  const hasDetector = typeof v.detector === "string" && v.detector.length > 0;
  if (v.column !== undefined && !hasColumn) return "mask column must be a non-empty string";
  if (v.detector !== undefined && !hasDetector) return "mask detector must be a non-empty string";
  if (!hasColumn && !hasDetector) return "mask entry needs a column or a detector";
  const rule: MaskRule = { method: v.method as MaskRule["method"] };
  if (hasColumn) rule.column = v.column as string;
  if (hasDetector) rule.detector = v.detector as string;
  return rule;
}

/** Validates `data.custos.decision`; returns the decision or the reason it was rejected. */
export function parseDecision(value: unknown): PolicyDecision | { invalid: string } {
  if (!isPlainObject(value)) return { invalid: "decision is not an object" };
  for (const key of Object.keys(value))
    if (!DECISION_KEYS.has(key)) return { invalid: `unknown field ${key}` };
  const { action, reason, rule, mask, record, cache } = value;
  if (typeof action !== "string" || !ACTIONS.has(action))
    return { invalid: "action must be allow, deny or review" };
  if (typeof reason !== "string") return { invalid: "reason must be a string" };
  if (typeof rule !== "string" || rule.length === 0) return { invalid: "rule must be a non-empty string" };
  if (typeof record !== "string" || !RECORDS.has(record))
    return { invalid: "record must be sync or buffered" };
  if (!Array.isArray(mask)) return { invalid: "mask must be an array" };
  if (cache !== undefined && typeof cache !== "boolean") return { invalid: "cache must be a boolean" };
  const rules: MaskRule[] = [];
  for (const entry of mask) {
    const parsed = maskRule(entry);
    if (typeof parsed === "string") return { invalid: parsed };
    rules.push(parsed);
  }
  return {
    action: action as Decision["action"],
    reason,
    rule,
    record: record as Decision["record"],
    mask: rules,
    cache: cache !== false,
  };
}

/** Unwraps the WASM SDK's result set (`[{result: ...}]`) and validates it; anything else is a deny. */
export function decisionFromResultSet(resultSet: unknown): PolicyDecision {
  const first = Array.isArray(resultSet) && resultSet.length === 1 ? resultSet[0] : undefined;
  const value = isPlainObject(first) ? first.result : undefined;
  const parsed = parseDecision(value);
  if ("invalid" in parsed)
    return { ...deny(`invalid policy decision: ${parsed.invalid}`, INVALID_DECISION), cache: true };
  return parsed;
}
