// Decisions of executions that run a tracked object: the decision of the text the client sent combined with
// the decision of the prepared statement or cursor it runs. The combination is never weaker than either
// part (a denial wins, then a review; masks add up), so an execution never carries less masking than the
// session's own decision of a statement. Pure functions.
import type { Decision, MaskRule } from "../../core/decision.ts";

const combined = new WeakMap<Decision, WeakMap<Decision, Decision>>();

/** The stricter of two decisions, with both mask plans; memoized, so a repeated pair is two map lookups. */
export function combine(a: Decision, b: Decision): Decision {
  if (a === b) return a;
  let inner = combined.get(a);
  const hit = inner?.get(b);
  if (hit) return hit;
  const d = combineNow(a, b);
  if (!inner) {
    inner = new WeakMap();
    combined.set(a, inner);
  }
  inner.set(b, d);
  return d;
}

const RANK = { deny: 2, review: 1, allow: 0 } as const;

function combineNow(a: Decision, b: Decision): Decision {
  const lead = RANK[b.action] > RANK[a.action] ? b : a;
  const statements = [...(a.statements ?? []), ...(b.statements ?? [])];
  // Two decisions together are not one statement: no longer `transactional` (durability.ts).
  const { transactional: _one, ...rest } = lead;
  return Object.freeze({
    ...rest,
    record: a.record === "sync" || b.record === "sync" ? "sync" : "buffered",
    mask: Object.freeze(unionMasks(a.mask, b.mask)) as MaskRule[],
    ...(a.statements || b.statements ? { statements } : {}),
  });
}

function unionMasks(a: readonly MaskRule[], b: readonly MaskRule[]): MaskRule[] {
  if (!b.length) return [...a];
  if (!a.length) return [...b];
  const seen = new Set(a.map(ruleKey));
  const out = [...a];
  for (const r of b) if (!seen.has(ruleKey(r))) out.push(r);
  return out;
}

const ruleKey = (r: MaskRule) => `${r.column ?? ""}\u0000${r.detector ?? ""}\u0000${r.method}`;

/** An execution of a name the relay has no decided object for: refused, never run (SQLSTATE 26000/34000). */
export function unknownObject(space: "statement" | "portal", name: string, why = ""): Decision {
  const what = space === "statement" ? "prepared statement" : "cursor or portal";
  return {
    action: "deny",
    reason: `${what} "${name}" is not known to Custos${why}: it cannot be attributed to a decided statement`,
    rule: space === "statement" ? UNKNOWN_STATEMENT : UNKNOWN_PORTAL,
    record: "sync",
    mask: [],
  };
}

export const UNKNOWN_STATEMENT = "custos.unknown_statement";
export const UNKNOWN_PORTAL = "custos.unknown_portal";

/** What the audit shows for an execution of a prepared statement: what was sent, and what it runs. */
export function runsText(sent: string, name: string, prepared: string): string {
  return `${sent}\n/* prepared statement "${name}": ${prepared} */`;
}
