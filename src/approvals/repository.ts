// Approval state in the audit store: one interface, two thin adapters (repository-sqlite.ts,
// repository-pg.ts) over the audit schema's approval tables. Unlike the recorder's tables these are read and
// written synchronously by the API, the CLI's requests and waiting sessions; every change is also an audit
// event, written by the service (service.ts).

import type * as schema from "../audit/schema-pg.ts";
import { CustosError } from "../core/errors.ts";

export type RequestRow = typeof schema.approvalRequests.$inferSelect;
export type DecisionRow = typeof schema.approvalDecisions.$inferSelect;
export type RequestStatus = "pending" | "approved" | "denied" | "expired" | "abandoned" | "revoked";
export type RequestKind = "statement" | "access";

export interface RequestView extends RequestRow {
  decisions: DecisionRow[];
}

/** Folds a new decision into a request: the columns to change, or a CustosError when it is refused. */
export type Fold = (request: RequestRow, decisions: DecisionRow[]) => Partial<RequestRow>;

export interface ListOptions {
  status?: RequestStatus;
  kind?: RequestKind;
  limit: number;
}

export interface ApprovalRepository {
  readonly dialect: "sqlite" | "postgres";
  create(row: RequestRow): Promise<void>;
  get(id: string): Promise<RequestView | undefined>;
  /** Newest first. */
  list(opts: ListOptions): Promise<RequestView[]>;
  /**
   * In one transaction, with the request row locked: `fold` judges the decision against the request and
   * the decisions already made (throwing CustosError to refuse), the decision is stored and the patch
   * applied. Other gateways are told (NOTIFY) when the transaction commits.
   */
  decide(id: string, decision: DecisionRow, fold: Fold): Promise<RequestView>;
  /** Conditional update: applies `patch` only while the request is in status `from`. True when it did. */
  transition(id: string, from: RequestStatus, patch: Partial<RequestRow>): Promise<boolean>;
  /** Marks an approved statement released, once: false if already consumed or no longer approved. */
  consume(id: string, now: number): Promise<boolean>;
  /** Pending statement reviews held by gateway instance `logId` (after its restart) become abandoned. */
  abandonPending(logId: string, now: number): Promise<RequestRow[]>;
  /** The approved access grant of this identity on this connection that is live at `now`, if any. */
  liveGrant(
    connection: string,
    subject: string,
    issuer: string,
    now: number,
  ): Promise<RequestRow | undefined>;
  /** Statuses of these requests (the polling fallback, and revocation checks). */
  statuses(ids: string[]): Promise<Map<string, RequestStatus>>;
  /** Tells every gateway sharing the store that a request changed (no-op for the embedded store). */
  notify(id: string): Promise<void>;
  /** Called with a request id when another gateway changed it; false when the store cannot push (poll). */
  listen(listener: (id: string) => void): Promise<boolean>;
  close(): Promise<void>;
}

export async function openApprovalRepository(url: string): Promise<ApprovalRepository> {
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    const { openPgRepository } = await import("./repository-pg.ts");
    return openPgRepository(url);
  }
  if (url.startsWith("sqlite:")) {
    const { openSqliteRepository } = await import("./repository-sqlite.ts");
    return openSqliteRepository(url.replace(/^sqlite:(\/\/)?/, "").split("?")[0] ?? "");
  }
  throw new CustosError(
    "config.invalid",
    "approvals need an audit store url starting with sqlite: or postgres://",
  );
}

export function attachDecisions(rows: RequestRow[], decisions: DecisionRow[]): RequestView[] {
  const by = new Map<string, DecisionRow[]>();
  for (const d of decisions) {
    const list = by.get(d.requestId);
    if (list) list.push(d);
    else by.set(d.requestId, [d]);
  }
  for (const list of by.values()) list.sort((a, b) => a.time - b.time);
  return rows.map((r) => ({ ...r, decisions: by.get(r.id) ?? [] }));
}
