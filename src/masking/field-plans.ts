// A decision's mask rules read per field name, for every body format that has named fields (CSV headers,
// form keys, XML elements and attributes, `key=value` in free text). Plans come from the masking
// engine (so names match by spelling, sensitive-names.ts) and are cached per name for the response.
import type { MaskRule } from "../core/decision.ts";
import type { MaskMethod } from "./detector.ts";
import type { MaskingEngine } from "./engine.ts";
import type { JsonMaskEvidence } from "./json-mask.ts";
import type { Hasher } from "./methods.ts";
import { materialize, methodPieces, type Piece } from "./pieces.ts";
import type { ColumnPlan } from "./plan.ts";
import { remembered, sharedStore } from "./plan-cache.ts";
import type { ActiveDetector } from "./scan.ts";
import { scanValue } from "./scan.ts";

const NOTHING: ColumnPlan = { method: null, rule: null, detectors: [], flags: 0 };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class FieldPlans {
  readonly hasher: Hasher | null;
  /** The plan for text with no field name: the decision's detectors. */
  readonly anonymous: ColumnPlan;
  private readonly named: MaskRule[];
  private readonly store: Map<string, unknown>;

  constructor(
    private readonly engine: MaskingEngine,
    rules: readonly MaskRule[],
    readonly evidence: JsonMaskEvidence,
  ) {
    this.store = sharedStore(engine, rules);
    const base = remembered(this.store, "field:rules", () => prepareFields(engine, rules));
    this.named = base.named;
    this.hasher = base.hasher;
    this.anonymous = base.anonymous;
    this.unnamed = base.unnamed;
  }

  /** A path rule no field name stands for (`$.a[*]`): bodies without a document tree cannot honour it. */
  readonly unnamed: string | null;

  plan(name: string): ColumnPlan {
    if (name === "") return this.anonymous;
    return remembered(
      this.store,
      `field:${name}`,
      () => this.engine.plan(this.named, [{ name }]).columns[0] ?? NOTHING,
    );
  }

  /** Whether any rule can act on text at all (detectors or names); without one, text cannot be masked. */
  get active(): boolean {
    return this.named.length > 0;
  }

  count(bag: "rules" | "detectors", name: string, n = 1): void {
    const b = this.evidence[bag];
    b[name] = (b[name] ?? 0) + n;
  }

  /** One field's value masked by its name's plan: whole by the rule's method, or by its detectors. */
  field(name: string, value: string): string {
    const p = this.plan(name);
    if (p.method !== null) {
      this.count("rules", p.rule ?? name);
      return wholeText(value, p.method, this.hasher);
    }
    return this.scan(value, p);
  }

  /** Detector spans of `value` replaced (a `null` method redacts: text has no NULL). */
  scan(value: string, p: ColumnPlan): string {
    if (p.detectors.length === 0 || value.length < 4) return value;
    const bytes = encoder.encode(value);
    const spans: number[] = [];
    const n = scanValue(bytes, 0, bytes.length, p.detectors, p.flags, spans);
    if (n === 0) return value;
    const pieces: Piece[] = [];
    let at = 0;
    for (let k = 0; k < spans.length; k += 3) {
      const s = spans[k]!;
      const e = spans[k + 1]!;
      const a = p.detectors[spans[k + 2]!]!;
      this.count("detectors", a.detector.name);
      if (s > at) pieces.push({ kind: 0, s: at, e: s });
      methodPieces(textMethod(a.method), bytes, s, e, this.hasher, a.detector.canonical, pieces);
      at = e;
    }
    if (at < bytes.length) pieces.push({ kind: 0, s: at, e: bytes.length });
    return decoder.decode(materialize(bytes, pieces));
  }
}

/** Path rules read by their last member name; validated once per rule list. */
function prepareFields(
  engine: MaskingEngine,
  rules: readonly MaskRule[],
): { named: MaskRule[]; hasher: Hasher | null; anonymous: ColumnPlan; unnamed: string | null } {
  const named: MaskRule[] = [];
  let unnamed: string | null = null;
  for (const rule of rules) {
    const column = rule.column;
    if (column?.startsWith("$")) {
      // Formats without a document tree read a path rule by its last member name (`$.a[*].ssn` is
      // `ssn`); a path that ends in `*` or an index names nothing and cannot be honoured.
      const m = /(?:\.|\[['"])([A-Za-z_$][\w$-]*)['"]?\]?$/.exec(column);
      if (!m) unnamed = column;
      else named.push({ ...rule, column: m[1]! });
    } else named.push(rule);
  }
  const probe = engine.plan(named, [{ name: "" }]);
  return { named, hasher: probe.hasher, anonymous: probe.columns[0] ?? NOTHING, unnamed };
}

/** In text there is no NULL: the `null` method redacts. */
export function textMethod(m: MaskMethod): MaskMethod {
  return m === "null" ? "redact" : m;
}

export function wholeText(value: string, method: MaskMethod, hasher: Hasher | null): string {
  if (value === "") return value;
  const bytes = encoder.encode(value);
  const pieces: Piece[] = [];
  methodPieces(textMethod(method), bytes, 0, bytes.length, hasher, false, pieces);
  return decoder.decode(materialize(bytes, pieces));
}

export type { ActiveDetector };
