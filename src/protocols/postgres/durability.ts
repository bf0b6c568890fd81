// When a `record: sync` command's audit record must be durable: before the command is forwarded, or, for a
// write inside a transaction block, before the statement that ends the transaction. Pure rules over the
// command's decision and the server's transaction status; the relay does the waiting.
import type { Tracked } from "./tracked.ts";

/** Forward now; forward now and wait at the transaction's end instead; or wait for durability first. */
export type DurableWait = "none" | "defer" | "wait";

/** The server's transaction status as the response tracker knows it. */
export interface TransactionView {
  readonly transactionStatus: "I" | "T" | "E";
  /** Requests in flight that may still change the status. */
  readonly statusChangesInFlight: number;
}

/**
 * How a command about to be forwarded waits for its record. `deferredOpen` is true while writes of the
 * open transaction were forwarded before their records were durable.
 */
export function durableWait(tracked: Tracked, tx: TransactionView, deferredOpen: boolean): DurableWait {
  const d = tracked.decision;
  const sync = d.record === "sync";
  // Inside a transaction block a write takes effect only when the transaction commits, so its record has
  // to be durable before the COMMIT is forwarded rather than before the write: one wait per transaction
  // instead of two per write. Only for a single classified statement, with the server's transaction
  // status known to be current (nothing that could change it is in flight).
  if (sync && inTransactionNow(tx) && d.statements?.length === 1 && !endsTransaction(tracked)) return "defer";
  return sync || (deferredOpen && mayEndTransaction(tracked)) ? "wait" : "none";
}

/** The server's transaction status is current: no request that could change it is still in flight. */
function inTransactionNow(tx: TransactionView): boolean {
  return tx.transactionStatus !== "I" && tx.statusChangesInFlight === 0;
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
