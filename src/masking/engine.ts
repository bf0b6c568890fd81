// The masking engine a gateway builds once from config: the detector registry (built-ins plus the
// operator's custom patterns) and the HMAC key. It turns a decision's mask rules and a result's columns
// into a MaskPlan; everything per row lives in the protocol's rewriter.
import type { MaskRule } from "../core/decision.ts";
import { CustosError } from "../core/errors.ts";
import type { Detector, MaskMethod } from "./detector.ts";
import { builtinDetectors } from "./detectors/builtin.ts";
import { customDetector } from "./detectors/custom.ts";
import { Hasher } from "./methods.ts";
import { buildMaskPlan, type MaskPlan, type ResultColumn } from "./plan.ts";

export interface CustomDetectorConfig {
  name: string;
  pattern: string;
  method: MaskMethod;
}

export interface MaskingConfig {
  /** The key behind `hash` (config reads it from `masking.hmac_key_env`); at least 16 bytes. */
  hmacKey?: Uint8Array | string | null;
  detectors?: readonly CustomDetectorConfig[];
}

const MIN_KEY_BYTES = 16;
const METHODS = new Set(["redact", "partial", "hash", "null"]);

export class MaskingEngine {
  readonly registry = new Map<string, { detector: Detector; method?: MaskMethod }>();
  private readonly hasher: Hasher | null;

  constructor(config: MaskingConfig = {}) {
    for (const d of builtinDetectors) this.registry.set(d.name, { detector: d });
    for (const c of config.detectors ?? []) {
      if (this.registry.has(c.name)) {
        throw new CustosError(
          "config.invalid",
          `masking detector ${c.name} is defined twice or shadows a built-in`,
        );
      }
      if (!METHODS.has(c.method)) {
        throw new CustosError(
          "config.invalid",
          `masking detector ${c.name}: unknown method ${JSON.stringify(c.method)}`,
        );
      }
      this.registry.set(c.name, { detector: customDetector(c.name, c.pattern), method: c.method });
    }
    const key =
      typeof config.hmacKey === "string" ? new TextEncoder().encode(config.hmacKey) : config.hmacKey;
    if (key && key.length < MIN_KEY_BYTES) {
      throw new CustosError("config.invalid", `masking HMAC key must be at least ${MIN_KEY_BYTES} bytes`);
    }
    this.hasher = key ? new Hasher(key) : null;
  }

  /** Throws CustosError("policy.unavailable") for a rule it cannot honour; the caller denies. */
  plan(rules: readonly MaskRule[], columns: readonly ResultColumn[]): MaskPlan {
    return buildMaskPlan(rules, columns, this.registry, this.hasher);
  }
}
