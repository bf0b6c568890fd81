// Filtered, cursor-paged session listing over the store's newest-first listSessions. The store pages by
// started_at only, so filters apply here while scanning, within a budget of rows per request: a rare filter
// over a long history returns a short page and a cursor to continue, never an unbounded scan.
import type { AuditStore, SessionRow } from "../../audit/store.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { badRequest } from "./http-error.ts";
import { FLAGS, type SessionFacts, type SessionFlag, sessionFactsReader } from "./session-facts.ts";

/**
 * Every end reason the gateway writes (session.end's `reason`), for the filter's choices. A session ended by
 * an error ends with that error's code (`module.reason`, core/errors.ts): any such code is accepted too.
 */
export const OUTCOMES = [
  "open",
  "client",
  "idle_timeout",
  "max_duration",
  "error",
  "shutdown",
  "upstream_error",
  "upstream_closed",
  "protocol_error",
  "startup_refused",
  "tls_failed",
  "access.grant_revoked",
  "access.grant_expired",
] as const;
const ERROR_CODE = /^[a-z]+\.[a-z_]{1,60}$/;

export interface SessionFilter {
  subject?: string;
  connection?: string;
  /** started_at >= from, < to (epoch ms). */
  from?: number;
  to?: number;
  /** "open" for sessions still running, else the end reason. */
  outcome?: string;
  /** Sessions whose events hold a denial, a statement held for review, or a masked value. */
  flag?: SessionFlag;
  /** Sessions with a statement whose text contains this (case-insensitive). */
  text?: string;
}

export interface SessionPage {
  items: SessionRow[];
  nextCursor: string | null;
}

const PAGE = 200;
const MAX_PAGE = 51_200;

export function outcomeOf(s: SessionRow): string {
  return s.endedAt === null ? "open" : (s.endReason ?? "unknown");
}

export function matches(s: SessionRow, f: SessionFilter): boolean {
  if (f.subject !== undefined && s.subject !== f.subject) return false;
  if (f.connection !== undefined && s.connection !== f.connection) return false;
  if (f.from !== undefined && s.startedAt < f.from) return false;
  if (f.to !== undefined && s.startedAt >= f.to) return false;
  if (f.outcome !== undefined && outcomeOf(s) !== f.outcome) return false;
  return true;
}

export async function querySessions(
  store: AuditStore,
  filter: SessionFilter,
  opts: {
    limit: number;
    cursor?: string;
    scanBudget?: number;
    /** Needed for the flag and text filters (they read each candidate's events). */
    facts?: (s: SessionRow) => Promise<SessionFacts>;
  },
): Promise<SessionPage> {
  if (
    filter.outcome !== undefined &&
    !(OUTCOMES as readonly string[]).includes(filter.outcome) &&
    !ERROR_CODE.test(filter.outcome)
  ) {
    throw badRequest(`outcome must be one of ${OUTCOMES.join(", ")}, or an error code (module.reason)`);
  }
  if (filter.flag !== undefined && !(FLAGS as readonly string[]).includes(filter.flag))
    throw badRequest(`flag must be one of ${FLAGS.join(", ")}`);
  const needle = filter.text?.toLowerCase();
  const byEvents = filter.flag !== undefined || (needle !== undefined && needle !== "");
  const facts = opts.facts ?? sessionFactsReader(store);
  const eventMatch = async (r: SessionRow) => {
    if (!byEvents) return true;
    const f = await facts(r);
    if (filter.flag !== undefined && f[filter.flag] === 0) return false;
    return !needle || f.text.includes(needle);
  };
  // Position: the last row returned, as (started_at, id); the store orders by both, newest first.
  let pos: { t: number; id: string } | null = null;
  if (opts.cursor !== undefined) {
    const c = decodeCursor(opts.cursor, { t: "number", id: "string" });
    pos = { t: c.t as number, id: c.id as string };
  }
  const items: SessionRow[] = [];
  // Filters that read events cost a query per candidate: a smaller budget per request.
  let budget = opts.scanBudget ?? (byEvents ? 500 : 5_000);
  let last: SessionRow | null = null;
  let page = PAGE;
  for (;;) {
    // `before` is exclusive on started_at: ask from pos.t inclusive and drop what we already passed.
    const before = pos ? pos.t + 1 : filter.to;
    const rows = await store.listSessions({ limit: page, before });
    const fresh = pos ? rows.filter((r) => after(r, pos!)) : rows;
    for (const r of fresh) {
      last = r;
      budget--;
      if (filter.from !== undefined && r.startedAt < filter.from) return { items, nextCursor: null };
      if (matches(r, filter) && (await eventMatch(r))) items.push(r);
      if (items.length === opts.limit) return { items, nextCursor: cursorAt(r) };
      if (budget === 0) return { items, nextCursor: cursorAt(r) };
    }
    if (rows.length < page) return { items, nextCursor: null };
    if (fresh.length === 0 && pos) {
      // A whole page started in the millisecond we stand in, and the store pages by millisecond only: ask for
      // a bigger page until the rest of that millisecond fits. Past MAX_PAGE sessions in one ms (not a real
      // log), skip to the previous millisecond rather than loop.
      if (page < MAX_PAGE) page *= 4;
      else pos = { t: pos.t - 1, id: "\uffff" };
      continue;
    }
    page = PAGE;
    if (!last) return { items, nextCursor: null };
    pos = { t: last.startedAt, id: last.id };
  }
}

function after(r: SessionRow, pos: { t: number; id: string }): boolean {
  return r.startedAt < pos.t || (r.startedAt === pos.t && r.id < pos.id);
}

const cursorAt = (r: SessionRow) => encodeCursor({ t: r.startedAt, id: r.id });
