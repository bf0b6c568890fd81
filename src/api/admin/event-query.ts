// The audit-event browser's query: one log read newest first, filtered by event type (or family), session,
// identity and time, paged by sequence number. The log is read in chunks within a budget per request, so a
// rare filter over a long log returns a short page and a cursor to continue, never an unbounded scan.
import { decodeEvent } from "../../audit/codec.ts";
import type { AuditStore, StoredEvent } from "../../audit/store.ts";
import { badRequest } from "./http-error.ts";

const ofType =
  (...types: string[]) =>
  (e: StoredEvent) =>
    types.includes(e.type);

/** Families an examiner asks for (ffiec-controls F2, F7, F10, F13); any exact type works too. */
export const EVENT_FAMILIES: Record<string, (e: StoredEvent) => boolean> = {
  "authentication failures": ofType("auth.failure", "console.login_failure"),
  // Refused before or at start-up: a bad identity, a connection not allowed, a start-up option refused.
  "refused sessions": (e) =>
    e.type === "auth.failure" ||
    (e.type === "session.end" &&
      ["startup_refused", "tls_failed", "protocol_error"].includes(String(e.data.reason))),
  "policy reloads": ofType("policy.reload"),
  "access requests": ofType(
    "access.requested",
    "access.decision",
    "access.granted",
    "access.revoked",
    "access.grant_expired",
  ),
  approvals: (e) => e.type.startsWith("approval."),
  "token issuance": ofType("token.issued"),
  "console sign-ins": ofType("console.login", "console.login_failure"),
  "recording reads": ofType("recording.read"),
};

export interface EventFilter {
  /** A family name of EVENT_FAMILIES or an exact event type. */
  type?: string;
  sessionId?: string;
  /** Matches subject, requester, who or minted_by.user in the event's data. */
  subject?: string;
  from?: number;
  to?: number;
}

export interface EventPage {
  items: StoredEvent[];
  /** The seq to continue from (exclusive upper bound), or null at the log's start. */
  nextCursor: number | null;
}

const CHUNK = 500;

export async function queryEvents(
  store: AuditStore,
  logId: string,
  filter: EventFilter,
  opts: { limit: number; before?: number; scanBudget?: number },
): Promise<EventPage> {
  if (
    filter.type !== undefined &&
    !EVENT_FAMILIES[filter.type] &&
    !/^[a-z][a-z0-9_.]{0,63}$/.test(filter.type)
  )
    throw badRequest("type must be an event family or an event type such as auth.failure");
  const wanted = filter.type === undefined ? null : (EVENT_FAMILIES[filter.type] ?? ofType(filter.type));
  const size = await store.logSize(logId);
  let to = Math.min(opts.before ?? size, size);
  let budget = opts.scanBudget ?? 20_000;
  const items: StoredEvent[] = [];
  while (to > 0 && budget > 0) {
    const from = Math.max(0, to - CHUNK);
    const rows = await store.readEvents(logId, from, to - from);
    for (let i = rows.length - 1; i >= 0; i--) {
      const row = rows[i]!;
      budget--;
      if (row.body.length === 0) continue; // pruned by retention
      const e = { ...decodeEvent(row.body), logId, seq: row.seq } as StoredEvent;
      if (filter.to !== undefined && e.time >= filter.to) continue;
      if (filter.from !== undefined && e.time < filter.from) return { items, nextCursor: null };
      if (wanted && !wanted(e)) continue;
      if (filter.sessionId !== undefined && e.sessionId !== filter.sessionId) continue;
      if (filter.subject !== undefined && !names(e).includes(filter.subject)) continue;
      items.push(e);
      if (items.length === opts.limit) return { items, nextCursor: row.seq > 0 ? row.seq : null };
    }
    to = from;
  }
  return { items, nextCursor: to > 0 ? to : null };
}

function names(e: StoredEvent): string[] {
  const d = e.data;
  const minted = d.minted_by as { user?: unknown } | undefined;
  return [d.subject, d.requester, d.who, minted?.user].filter((x): x is string => typeof x === "string");
}
