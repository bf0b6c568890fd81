// Exec output of masked identities, masked as a stream: the decision's detectors and `key: value` names
// (the HTTP text masker's span finder, http/text-mask.ts) over stdout and stderr separately, holding back
// only the tail a match could still extend, so a value split across SSH packets is still caught. Complete
// lines go out at once. Synchronous, so the relay keeps its backpressure without a stream in between.
import type { MaskRule } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { FieldPlans } from "../http/field-plans.ts";
import type { JsonMaskEvidence } from "../http/mask.ts";
import { applySpans, textSpans } from "../http/text-mask.ts";

/** Longer than any detector's match (an email is at most 254 bytes) plus its boundary byte. */
const KEEP = 320;
/** Bytes already sent that stay readable so a key before the cut still names the value after it. */
const CONTEXT = 64;

export class OutputMasker {
  private buf = new Uint8Array(0);
  private ctx = 0;

  constructor(
    private readonly plans: FieldPlans,
    /** Longest run without a safe cut before the stream fails closed. */
    private readonly bound: number,
  ) {}

  push(chunk: Uint8Array): Uint8Array {
    const next = new Uint8Array(this.buf.length + chunk.length);
    next.set(this.buf, 0);
    next.set(chunk, this.buf.length);
    this.buf = next;
    if (this.buf.length - this.ctx <= KEEP && !chunk.includes(10)) return EMPTY;
    return this.step(false);
  }

  end(): Uint8Array {
    return this.step(true);
  }

  private step(final: boolean): Uint8Array {
    const { plans, buf } = this;
    const { spans, pending } = textSpans(plans, buf, buf.length, final);
    let safe = final ? buf.length : Math.max(this.ctx, Math.min(buf.length - KEEP, pending));
    if (!final) {
      const nl = buf.lastIndexOf(10);
      if (nl + 1 > safe) safe = Math.min(nl + 1, pending);
    }
    for (const sp of spans) if (sp.s < safe && sp.e > safe) safe = sp.s;
    if (safe < this.ctx) safe = this.ctx;
    const out = safe > this.ctx ? applySpans(plans, buf, this.ctx, safe, spans) : EMPTY;
    const keepFrom = Math.max(0, safe - CONTEXT);
    this.buf = buf.slice(keepFrom);
    this.ctx = safe - keepFrom;
    if (this.buf.length - this.ctx > this.bound)
      throw new CustosError(
        "upstream.protocol",
        `output held ${this.bound} bytes without a safe cut for masking`,
      );
    return out;
  }
}

const EMPTY = new Uint8Array(0);

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
  return { stdout: new OutputMasker(plans, bound), stderr: new OutputMasker(plans, bound), evidence };
}
