// When a `record: sync` command's audit record must be durable. The invariant (ENFORCEMENT.md §8): no write
// commits on the server, and the client learns nothing of it, before its record is durable. Pure rules over
// the command's decision and the server's transaction status; the relay does the waiting.
//
// A statement whose every effect takes hold only when its transaction commits (the decider's
// `transactional`: one plain DML or SELECT, no function off the vetted list, src/sql/transactional.ts) may
// therefore run while its record is written; its replies are held, and only what commits it waits. Anything
// else waits before it is forwarded.
import type { Tracked } from "./tracked.ts";

/**
 * - none: forward now.
 * - defer: forward now; inside a transaction block, whose end (COMMIT…) waits for the record.
 * - at-sync: an extended-protocol Execute, forwarded now with its replies held; the next message that may
 *   commit the implicit transaction (Sync, Query, FunctionCall, a transaction statement) waits for its record.
 * - in-transaction: a simple-protocol autocommit write, run inside a transaction block the gateway opens and
 *   closes with a COMMIT sent once the write's record is durable.
 * - wait: the command itself waits for durability before it is forwarded.
 */
export type DurableWait = "none" | "defer" | "at-sync" | "in-transaction" | "wait";

/** The server's transaction status as the response tracker knows it. */
export interface TransactionView {
  readonly transactionStatus: "I" | "T" | "E";
  /** Requests in flight that may change the status. */
  readonly statusChangesInFlight: number;
}

/**
 * How a command about to be forwarded waits for its record. `deferredOpen` is true while writes were
 * forwarded before their records were durable and not yet committed. `via` is the message that runs it.
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
  // status known to be current (nothing that could change it is in flight), and no call off the vetted
  // list: nextval, pg_advisory_lock or dblink_exec take effect at once, whatever becomes of the block.
  if (
    sync &&
    inTransactionNow(tx) &&
    d.statements?.length === 1 &&
    d.vettedCalls === true &&
    !endsTransaction(tracked)
  )
    return "defer";
  if (sync && transactional(tracked)) {
    // protocol-flow "Extended Query": an Execute's effects commit at the Sync that closes the implicit
    // transaction (or at the COMMIT of a block), whatever the status when it was sent.
    if (via === "execute") return "at-sync";
    // A Query commits its own statement unless a block is open: only when the status is known to be idle.
    if (via === "query" && tx.transactionStatus === "I" && tx.statusChangesInFlight === 0 && !deferredOpen)
      return "in-transaction";
  }
  return sync || (deferredOpen && mayEndTransaction(tracked)) ? "wait" : "none";
}

/** The server's transaction status is current: no request that could change it is still in flight. */
function inTransactionNow(tx: TransactionView): boolean {
  return tx.transactionStatus !== "I" && tx.statusChangesInFlight === 0;
}

/** One statement the decider proved commits only with its transaction, and nothing else in the text. */
function transactional(t: Tracked): boolean {
  const d = t.decision;
  return d.transactional === true && d.statements?.length === 1 && !t.runsObject;
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
