// Plans per member name outlive one response: a cached decision hands every repeated request the same
// mask rules (the same frozen array), so the per-name plans built for one response serve the next and a
// repeated masked request costs map lookups, not plan building. Keyed by the rules array, then by its
// content (two decisions for different paths carry equal lists), per masking engine.
import type { MaskRule } from "../core/decision.ts";
import type { MaskingEngine } from "./engine.ts";

const MAX_LISTS = 256;

interface PerEngine {
  byArray: WeakMap<readonly MaskRule[], Map<string, unknown>>;
  byContent: Map<string, Map<string, unknown>>;
}

const engines = new WeakMap<MaskingEngine, PerEngine>();

/** A store shared by every response masked under `rules` (callers namespace their keys). */
export function sharedStore(engine: MaskingEngine, rules: readonly MaskRule[]): Map<string, unknown> {
  let e = engines.get(engine);
  if (!e) {
    e = { byArray: new WeakMap(), byContent: new Map() };
    engines.set(engine, e);
  }
  const hit = e.byArray.get(rules);
  if (hit) return hit;
  const key = JSON.stringify(rules);
  let store = e.byContent.get(key);
  if (!store) {
    if (e.byContent.size >= MAX_LISTS) e.byContent.clear();
    store = new Map();
    e.byContent.set(key, store);
  }
  e.byArray.set(rules, store);
  return store;
}

/** `store.get(key)`, or `make()` remembered under it (bounded: past `max` entries it starts over). */
export function remembered<T>(store: Map<string, unknown>, key: string, make: () => T, max = 4096): T {
  const v = store.get(key);
  if (v !== undefined) return v as T;
  const made = make();
  if (store.size >= max) store.clear();
  store.set(key, made);
  return made;
}
