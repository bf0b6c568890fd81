// When a `record: sync` command's audit record must be durable. The invariant: no write commits on the
// server before its record is durable. A write that can only take effect when its transaction commits may
// therefore run while its record is being synced; only the message that commits it waits. Pure rules over
// the command's decision and the server's transaction status; the relay does the waiting.
import type { Tracked } from "./tracked.ts";

/**
 * - none: forward now.
 * - defer: forward now; inside a transaction block, whose end (COMMIT…) waits for the record.
 * - at-sync: forward now (an extended-protocol Execute); the next message that can commit the implicit
 *   transaction (Sync, Query, FunctionCall) waits for the record, and the transaction's end too.
 * - in-transaction: a simple-protocol autocommit write; the relay runs it inside a transaction block it
 *   opens itself and closes with a COMMIT that waits for the record.
 * - wait: the command itself waits for durability before it is forwarded (today's hold).
 */
export type DurableWait = "none" | "defer" | "at-sync" | "in-transaction" | "wait";

/** The server's transaction status as the response tracker knows it. */
export interface TransactionView {
  readonly transactionStatus: "I" | "T" | "E";
  /** Requests in flight that may still change the status. */
  readonly statusChangesInFlight: number;
}

/**
 * Statement kinds that PostgreSQL runs inside a transaction block with the same effect as on their own, and
 * that never commit by themselves (no transaction control, no VACUUM/CREATE DATABASE/CONCURRENTLY, no CALL
 * or DO, which may COMMIT inside): their effect becomes permanent only when the surrounding transaction
 * commits.
 */
const COMMITS_WITH_TRANSACTION = new Set(["insert", "update", "delete", "merge", "select"]);

/**
 * How a command about to be forwarded waits for its record. `deferredOpen` is true while writes of the
 * open transaction were forwarded before their records were durable. `via` is the message that runs it.
 */
export function durableWait(
  tracked: Tracked,
  tx: TransactionView,
  deferredOpen: boolean,
  via: "query" | "execute" | "function" = "query",
): DurableWait {
  const d = tracked.decision;
  const sync = d.record === "sync";
  // Inside a transaction block a write takes effect only when the transaction commits, so its record has
  // to be durable before the COMMIT is forwarded rather than before the write: one wait per transaction
  // instead of two per write. Only for a single classified statement, with the server's transaction
  // status known to be current (nothing that could change it is in flight).
  if (sync && inTransactionNow(tx) && d.statements?.length === 1 && !endsTransaction(tracked)) return "defer";
  if (sync && commitsWithTransaction(tracked)) {
    // protocol-flow "Extended Query": an Execute's effects commit at the Sync that closes the implicit
    // transaction (or at the COMMIT of an explicit block), whatever the status when it was sent.
    if (via === "execute") return "at-sync";
    if (via === "query" && tx.transactionStatus === "I" && tx.statusChangesInFlight === 0)
      return "in-transaction";
  }
  return sync || (deferredOpen && mayEndTransaction(tracked)) ? "wait" : "none";
}

/** The server's transaction status is current: no request that could change it is still in flight. */
function inTransactionNow(tx: TransactionView): boolean {
  return tx.transactionStatus !== "I" && tx.statusChangesInFlight === 0;
}

/** One classified statement of a kind that commits only with its transaction (COMMITS_WITH_TRANSACTION). */
function commitsWithTransaction(t: Tracked): boolean {
  const statements = t.decision.statements;
  return statements?.length === 1 && COMMITS_WITH_TRANSACTION.has(statements[0]!.kind);
}

/** COMMIT, END or PREPARE TRANSACTION: the statement that makes a transaction's writes permanent. */
function endsTransaction(t: Tracked): boolean {
  const kw = t.command.keyword;
  return kw === "commit" || kw === "end" || kw === "prepare";
}

/** Anything that might end the transaction: a transaction statement, or a statement list or text not classified. */
function mayEndTransaction(t: Tracked): boolean {
  const statements = t.decision.statements;
  if (statements?.length !== 1) return true;
  return endsTransaction(t) || statements[0]!.kind === "transaction" || statements[0]!.kind === "other";
}
