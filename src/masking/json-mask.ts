// Masks a parsed JSON body by the decision's rules. Three kinds of rule:
// - `column` starting with `$`: a JSON path (json-path.ts); the selected values are masked whole, or
//   scanned by the rule's detector when it names one.
// - any other `column` (`ssn`, `customers.ssn`): every object member of that name, at any depth, the way
//   a `SELECT *` column of that name is masked; a qualified name matches by its last part.
// - `detector` alone: every string (and number) value is scanned by the validated detectors.
// Whole-value methods on strings use the masking module's pieces, so `partial` and `hash` read the same
// as in SQL results; a number or boolean masked becomes a string, an object or array becomes
// "[REDACTED]" (or null for the `null` method). Counts go to the evidence; values never do.
import type { MaskRule } from "../core/decision.ts";
import { CustosError } from "../core/errors.ts";
import type { MaskingEngine } from "./engine.ts";
import { parsePath, type Segment, selectPath } from "./json-path.ts";
import type { Hasher } from "./methods.ts";
import { materialize, methodPieces, type Piece, spanPieces } from "./pieces.ts";
import type { ColumnPlan } from "./plan.ts";
import { remembered, sharedStore } from "./plan-cache.ts";
import { scanValue } from "./scan.ts";

export interface JsonMaskEvidence {
  /** Values masked whole, per rule text. */
  rules: Record<string, number>;
  /** Spans replaced, per detector name. */
  detectors: Record<string, number>;
}

export interface JsonMasker {
  /** Masks `value` in place where it can and returns the masked value (the root may be replaced). */
  mask(value: unknown): unknown;
  readonly evidence: JsonMaskEvidence;
}

interface PathRule {
  text: string;
  path: Segment[];
  rule: MaskRule;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NOTHING: ColumnPlan = { method: null, rule: null, detectors: [], flags: 0 };

/** Throws CustosError("policy.unavailable") for a rule it cannot honour; the caller denies. */
export function jsonMasker(engine: MaskingEngine, rules: readonly MaskRule[]): JsonMasker {
  const store = sharedStore(engine, rules);
  const { pathRules, nameRules, hasher, pathDetectors } = remembered(store, "json:rules", () =>
    prepare(engine, rules),
  );
  const planFor = (key: string): ColumnPlan =>
    remembered(store, `json:${key}`, () =>
      nameRules.length ? (engine.plan(nameRules, [{ name: key }]).columns[0] ?? NOTHING) : NOTHING,
    );

  const evidence: JsonMaskEvidence = { rules: {}, detectors: {} };
  const count = (bag: Record<string, number>, name: string, n = 1) => {
    bag[name] = (bag[name] ?? 0) + n;
  };

  const scanned = (value: unknown, plan: ColumnPlan): unknown => {
    if (plan.detectors.length === 0) return value;
    if (typeof value !== "string" && typeof value !== "number") return value;
    const bytes = encoder.encode(typeof value === "string" ? value : String(value));
    const spans: number[] = [];
    const n = scanValue(bytes, 0, bytes.length, plan.detectors, plan.flags, spans);
    if (n === 0) return value;
    for (let k = 0; k < spans.length; k += 3)
      count(evidence.detectors, plan.detectors[spans[k + 2]!]!.detector.name);
    const pieces = spanPieces(bytes, 0, bytes.length, spans, plan.detectors, hasher);
    return pieces === null ? null : decoder.decode(materialize(bytes, pieces));
  };

  /** Every string and number below `value` scanned with one plan's detectors, whatever the member names. */
  const scanAll = (value: unknown, plan: ColumnPlan): unknown => {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = scanAll(value[i], plan);
      return value;
    }
    if (value !== null && typeof value === "object") {
      const obj = value as Record<string, unknown>;
      for (const key of Object.keys(obj)) obj[key] = scanAll(obj[key], plan);
      return obj;
    }
    return scanned(value, plan);
  };

  const walk = (value: unknown, plan: ColumnPlan): unknown => {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = walk(value[i], plan);
      return value;
    }
    if (value !== null && typeof value === "object") {
      const obj = value as Record<string, unknown>;
      for (const key of Object.keys(obj)) {
        const p = planFor(key);
        if (p.method !== null) {
          obj[key] = whole(obj[key], p.method, hasher);
          count(evidence.rules, p.rule ?? key);
        } else obj[key] = walk(obj[key], p);
      }
      return obj;
    }
    // A JSON document inside a string (`"payload": "{\"ssn\": …}"`) is masked by name too.
    if (typeof value === "string" && nameRules.length && embeddedJson(value)) {
      try {
        return JSON.stringify(walk(JSON.parse(value), plan));
      } catch {}
    }
    return scanned(value, plan);
  };

  return {
    evidence,
    mask(root) {
      let value = root;
      for (const r of pathRules) {
        const detectors = pathDetectors.get(r);
        const visit = (parent: Record<string, unknown> | unknown[], key: string | number) => {
          const current = (parent as Record<string | number, unknown>)[key];
          (parent as Record<string | number, unknown>)[key] = detectors
            ? scanAll(current, detectors)
            : whole(current, r.rule.method, hasher);
          if (!detectors) count(evidence.rules, r.text);
        };
        // `$` itself: the whole body.
        if (r.path.length === 0) {
          value = detectors ? scanAll(value, detectors) : whole(value, r.rule.method, hasher);
          if (!detectors) count(evidence.rules, r.text);
        } else selectPath(value, r.path, visit);
      }
      return nameRules.length ? walk(value, planFor("")) : value;
    },
  };
}

interface Prepared {
  pathRules: PathRule[];
  nameRules: MaskRule[];
  hasher: Hasher | null;
  pathDetectors: Map<PathRule, ColumnPlan>;
}

/** The rules split and validated once per list (unknown detectors, methods and paths throw). */
function prepare(engine: MaskingEngine, rules: readonly MaskRule[]): Prepared {
  const pathRules: PathRule[] = [];
  const nameRules: MaskRule[] = [];
  for (const rule of rules) {
    if (rule.column?.startsWith("$")) {
      const path = parsePath(rule.column);
      if (typeof path === "string") {
        throw new CustosError("policy.unavailable", `mask path ${JSON.stringify(rule.column)}: ${path}`);
      }
      pathRules.push({ text: rule.column, path, rule });
    } else nameRules.push(rule);
  }
  const probe = engine.plan(nameRules, [{ name: "" }]);
  const pathDetectors = new Map<PathRule, ColumnPlan>();
  for (const r of pathRules) {
    if (r.rule.detector !== undefined) {
      const { column: _ignored, ...detectorOnly } = r.rule;
      pathDetectors.set(r, engine.plan([detectorOnly], [{ name: "" }]).columns[0] ?? NOTHING);
    }
  }
  return { pathRules, nameRules, hasher: probe.hasher, pathDetectors };
}

const REDACTED = "[REDACTED]";
const MAX_EMBEDDED = 1 << 20;

function embeddedJson(text: string): boolean {
  const c = text.charCodeAt(0);
  return (c === 123 || c === 91) && text.length >= 2 && text.length <= MAX_EMBEDDED;
}

/** One value masked whole by `method`. */
function whole(value: unknown, method: MaskRule["method"], hasher: Hasher | null): unknown {
  if (method === "null" || value === null || value === undefined) return null;
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number" || typeof value === "boolean") text = String(value);
  else {
    // Structures have no "last four"; a hash of their JSON text still joins equal values.
    if (method !== "hash") return REDACTED;
    text = JSON.stringify(value);
  }
  const bytes = encoder.encode(text);
  const pieces: Piece[] = [];
  methodPieces(method, bytes, 0, bytes.length, hasher, false, pieces);
  return decoder.decode(materialize(bytes, pieces));
}
