// What the relay keeps about a forwarded command until the server's response to it completes: what was
// decided, when it left, and the masking state of its results.
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import type { CommandMask } from "./result-masking.ts";

export interface Tracked {
  command: Command;
  decision: Decision;
  /** Epoch microseconds when forwarded. */
  start: number;
  /** The portal an Execute runs: its results are masked with the portal's CommandMask. */
  portal?: string;
  mask?: CommandMask | null;
  /** A write inside a transaction block whose durable wait moved to the transaction's end. */
  deferred?: boolean;
  /** Forwarded before its record was durable: what commits it waits until its outcome is recorded. */
  awaitsRecord?: boolean;
  /** Runs a session object (PREPARE, EXECUTE, DECLARE, FETCH): never run ahead of its record. */
  runsObject?: boolean;
  /** The gateway's COMMIT of the transaction it opened around this autocommit write (durability.ts). */
  gatewayCommit?: boolean;
}
