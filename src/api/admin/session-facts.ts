// What a session's statement events say beyond its row: denials, reviews (held statements), masking (a
// command's masking event shows a value masked), and its text for search. Read from the session's own events (the log, not the sessions table); an ended session no
// longer changes, so its facts are kept in a bounded cache keyed by its statement count and end.
import type { AuditStore, SessionRow } from "../../audit/store.ts";

export interface SessionFacts {
  denials: number;
  reviews: number;
  /** Commands whose results had at least one value masked. */
  masking: number;
  /** Statement texts, lower-cased and joined, at most TEXT_BOUND characters: what text search reads. */
  text: string;
}

export const FLAGS = ["denials", "reviews", "masking"] as const;
export type SessionFlag = (typeof FLAGS)[number];

const TEXT_BOUND = 256 * 1024;
const CACHED = 4_096;

export function sessionFactsReader(store: AuditStore): (s: SessionRow) => Promise<SessionFacts> {
  const cache = new Map<string, { key: string; facts: SessionFacts }>();
  return async (s) => {
    const key = `${s.statements}:${s.endedAt ?? "open"}`;
    const hit = cache.get(s.id);
    if (hit && hit.key === key) return hit.facts;
    const facts: SessionFacts = { denials: 0, reviews: 0, masking: 0, text: "" };
    const texts: string[] = [];
    let length = 0;
    for (const e of await store.sessionEvents(s.id)) {
      if (e.type === "approval.requested") facts.reviews++;
      if (e.type === "masking" && anyMasked(e.data.results)) facts.masking++;
      if (e.type !== "statement") continue;
      if (e.data.action === "deny") facts.denials++;
      const text = typeof e.data.text === "string" ? e.data.text : "";
      if (length < TEXT_BOUND) {
        texts.push(text.toLowerCase());
        length += text.length + 1;
      }
    }
    facts.text = texts.join("\n").slice(0, TEXT_BOUND);
    if (cache.size >= CACHED) cache.delete(cache.keys().next().value as string);
    cache.set(s.id, { key, facts });
    return facts;
  };
}

export function flagsOf(f: SessionFacts): SessionFlag[] {
  return FLAGS.filter((flag) => f[flag] > 0);
}

/** A masking event's results (masking/evidence.ts) count a value masked: a rewritten row or a counted value. */
function anyMasked(results: unknown): boolean {
  if (!Array.isArray(results)) return false;
  const counted = (list: unknown) =>
    Array.isArray(list) && list.some((c) => typeof c?.values === "number" && c.values > 0);
  return results.some(
    (r) =>
      r &&
      ((typeof r.rowsMasked === "number" && r.rowsMasked > 0) || counted(r.columns) || counted(r.detectors)),
  );
}
