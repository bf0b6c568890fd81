// Exec output of masked identities, masked as a stream: the decision's detectors and `key: value` names
// (the shared text masker's span finder, masking/text-mask.ts) over stdout and stderr separately, holding back
// only the tail a match could still extend, so a value split across SSH packets is still caught. Complete
// lines go out at once. Synchronous, so the relay keeps its backpressure without a stream in between.
import type { MaskRule } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { FieldPlans } from "../../masking/field-plans.ts";
import type { JsonMaskEvidence } from "../../masking/json-mask.ts";
import { TextStreamMasker } from "../../masking/text-mask.ts";

/** The shared synchronous text-stream masker (masking/text-mask.ts), one per output stream. */
export type OutputMasker = TextStreamMasker;

/** Maskers for one command's stdout and stderr, sharing the evidence; throws when a rule cannot be built. */
export function outputMaskers(
  engine: MaskingEngine,
  rules: readonly MaskRule[],
  bound: number,
): { stdout: OutputMasker; stderr: OutputMasker; evidence: JsonMaskEvidence } {
  const evidence: JsonMaskEvidence = { rules: {}, detectors: {} };
  const plans = new FieldPlans(engine, rules, evidence);
  if (plans.unnamed !== null)
    throw new CustosError("policy.unavailable", `mask rule ${plans.unnamed} names no field text can show`);
  return { stdout: new TextStreamMasker(plans, bound), stderr: new TextStreamMasker(plans, bound), evidence };
}
