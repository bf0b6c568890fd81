// From a decision's mask rules and a result's columns to a per-column plan, computed once per result
// description so the per-row path only indexes an array.
//
// Column rules match the column's real source when it is known (`select ssn as x` is still `ssn`) and
// the output name too: a rule for `ssn` masks both the aliased source column and any column the query
// names `ssn` (failing closed: a false mask costs less than a leak). Qualified rules (`table.column`,
// `schema.table.column`) match the source only; when the source is unknown (an expression, a function)
// they fall back to the output name's last part. Names compare case-insensitively.
import type { MaskRule } from "../core/decision.ts";
import { CustosError } from "../core/errors.ts";
import type { Detector, MaskMethod } from "./detector.ts";
import { type Hasher, stronger } from "./methods.ts";
import type { ActiveDetector } from "./scan.ts";
import { columnFlags, nameMatchesRule } from "./sensitive-names.ts";

export interface SourceColumn {
  schema: string;
  table: string;
  column: string;
}

export interface ResultColumn {
  /** The name the result gives the column (after aliasing). */
  name: string;
  /** The table column it reads, when resolvable (catalog lookup of table OID and attribute number). */
  source?: SourceColumn | undefined;
}

export interface ColumnPlan {
  /** Mask the whole value with this method; detectors then do not run. */
  method: MaskMethod | null;
  /** The rule's column text that matched, for evidence. */
  rule: string | null;
  /** Detectors to run over this column's text, empty when none. */
  detectors: readonly ActiveDetector[];
  /** COLUMN_SSN_LIKE and friends, passed to detectors. */
  flags: number;
}

export interface MaskPlan {
  readonly columns: readonly ColumnPlan[];
  /** Every distinct detector the plan may run, indexed by ActiveDetector.index. */
  readonly detectors: readonly ActiveDetector[];
  /** False when no column needs anything: the caller may skip rows without looking at them. */
  readonly active: boolean;
  /** Null when no HMAC key is configured: `hash` then degrades to `redact` (never an unkeyed hash). */
  readonly hasher: Hasher | null;
}

const METHODS = new Set(["redact", "partial", "hash", "null"]);

function matchesColumn(rule: string, col: ResultColumn): boolean {
  const parts = rule.toLowerCase().split(".");
  const name = col.name;
  const src = col.source;
  if (parts.length === 1) {
    // Spelling-aware (sensitive-names.ts): rule `ssn` also masks `customer_ssn`, `taxId`, `socialSecurityNumber`.
    return nameMatchesRule(parts[0]!, name) || (src !== undefined && nameMatchesRule(parts[0]!, src.column));
  }
  if (!src) return nameMatchesRule(parts[parts.length - 1]!, name);
  if (parts.length === 2)
    return parts[0] === src.table.toLowerCase() && parts[1] === src.column.toLowerCase();
  return (
    parts.length === 3 &&
    parts[0] === src.schema.toLowerCase() &&
    parts[1] === src.table.toLowerCase() &&
    parts[2] === src.column.toLowerCase()
  );
}

function invalid(message: string, rule: MaskRule): CustosError {
  // The policy asked for something the gateway cannot do; the session turns this into a deny.
  return new CustosError("policy.unavailable", message, { rule: { ...rule } });
}

export function buildMaskPlan(
  rules: readonly MaskRule[],
  columns: readonly ResultColumn[],
  registry: ReadonlyMap<string, { detector: Detector; method?: MaskMethod }>,
  hasher: Hasher | null,
): MaskPlan {
  const active: ActiveDetector[] = [];
  const byName = new Map<string, ActiveDetector>();
  const activate = (detector: Detector, method: MaskMethod): ActiveDetector => {
    const key = `${detector.name}:${method}`;
    let a = byName.get(key);
    if (!a) {
      a = { detector, method, index: active.length };
      active.push(a);
      byName.set(key, a);
    }
    return a;
  };

  const plans: ColumnPlan[] = columns.map((col) => ({
    method: null,
    rule: null,
    detectors: [],
    flags: columnFlags(col.name) | (col.source ? columnFlags(col.source.column) : 0),
  }));
  const perColumn: ActiveDetector[][] = columns.map(() => []);

  for (const rule of rules) {
    if (!METHODS.has(rule.method))
      throw invalid(`unknown masking method ${JSON.stringify(rule.method)}`, rule);
    if (rule.column === undefined && rule.detector === undefined) {
      throw invalid("mask rule names neither a column nor a detector", rule);
    }
    const targets = rule.column === undefined ? null : columns.map((c) => matchesColumn(rule.column!, c));
    if (rule.detector === undefined) {
      targets!.forEach((hit, i) => {
        if (!hit) return;
        const p = plans[i]!;
        const next = p.method ? stronger(p.method, rule.method) : rule.method;
        if (next !== p.method) p.rule = rule.column!;
        p.method = next;
      });
      continue;
    }
    const chosen: ActiveDetector[] = [];
    if (rule.detector === "*") {
      // Custom detectors keep their configured method under the wildcard; built-ins take the rule's.
      for (const entry of registry.values())
        chosen.push(activate(entry.detector, entry.method ?? rule.method));
    } else {
      const entry = registry.get(rule.detector);
      if (!entry) throw invalid(`unknown masking detector ${JSON.stringify(rule.detector)}`, rule);
      chosen.push(activate(entry.detector, rule.method));
    }
    perColumn.forEach((list, i) => {
      if (targets && !targets[i]) return;
      for (const a of chosen) if (!list.includes(a)) list.push(a);
    });
  }

  let any = false;
  plans.forEach((p, i) => {
    if (p.method === null) p.detectors = perColumn[i]!;
    if (p.method !== null || p.detectors.length > 0) any = true;
  });
  return { columns: plans, detectors: active, active: any, hasher };
}
