// The session's server-side objects as the server has them: prepared statements and portals, each with the
// decision of what it runs. PostgreSQL has two namespaces, not four: SQL PREPARE and protocol Parse name
// statements in one, DECLARE and protocol Bind name portals in the other.
//
// Objects change only when the server confirms: each change the client asks for is queued as an effect with
// the request that carries it (tracker.ts pairs the server's answer), and applied to the confirmed state
// when that request succeeds. An execution is decided against the confirmed state plus the effects still in
// flight in its own segment (up to a Sync or a simple Query): if one of those fails, the server skips the
// rest of the segment, so the execution never runs against another object. An effect still in flight from
// an earlier segment could fail without skipping this one: the lookup says `wait`, and the caller holds the
// message until the server has answered. Pure bookkeeping: no I/O.
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import type { ReviewBinding } from "../../core/session.ts";
import type { ObjectStatement } from "../../sql/session-objects.ts";
import type { CommandMask } from "./result-masking.ts";

export interface StatementObject {
  /** What the server runs, as the audit shows it: the Parse text, or the whole PREPARE statement. */
  command: Command;
  /** The decision of the statement's own text (for an EXECUTE or FETCH, before its target is known). */
  decision: Decision;
  /** Object statements inside the text (a Parse of `EXECUTE x($1)`, `FETCH 10 FROM c`, `DECLARE …`). */
  ops: readonly ObjectStatement[] | null;
}

export interface PortalObject {
  /** A Bind over a statement, or a cursor (DECLARE). */
  statement: StatementObject | null;
  /** The statement name a Bind named (for the error when it is not known). */
  statementName?: string;
  /** A cursor's decision, fixed when it was declared (after review, the approved one). */
  cursor?: { command: Command; decision: Decision };
  holdable: boolean;
  /** A holdable cursor survives its transaction only if the transaction commits. */
  committed: boolean;
  /** Bind parameters: what an approval of this portal's execution binds to. */
  binding: Required<ReviewBinding> | null;
  /** Masking state of the portal's results, set at its first masked Execute. */
  mask?: CommandMask | null;
  /** Set once an Execute of the portal was approved: a continuation (PortalSuspended) runs under it. */
  approved?: Decision;
}

type Space = "statement" | "portal";

interface Effect {
  space: Space;
  /** null: every object of the space (DEALLOCATE ALL, CLOSE ALL). */
  name: string | null;
  /** The object the name gets; null deletes it. */
  value: StatementObject | PortalObject | null;
  segment: number;
  /** A failed Parse of the unnamed statement drops it (the server drops it before parsing). */
  dropOnFailure: boolean;
  /** Index of the statement within a simple Query whose CommandComplete confirms this effect. */
  index: number;
}

/** Lookup answer: the object, none known, or wait for the server to answer an earlier segment. */
export type Lookup<T> = { object: T | null } | "wait";

export class SessionObjects {
  private readonly statements = new Map<string, StatementObject>();
  private readonly portals = new Map<string, PortalObject>();
  /** Effects forwarded and not yet answered, in order. */
  private inFlight: Effect[] = [];
  private segment = 0;
  private waiters: { segment: number; resolve: () => void }[] = [];
  /** A request failed or a ROLLBACK completed since the last ReadyForQuery. */
  private rolledBack = false;

  /** A Sync or simple Query was forwarded: later messages are in a new segment. */
  endSegment(): void {
    this.segment++;
  }

  statement(name: string): Lookup<StatementObject> {
    return this.lookup("statement", name, this.statements) as Lookup<StatementObject>;
  }

  portal(name: string): Lookup<PortalObject> {
    return this.lookup("portal", name, this.portals) as Lookup<PortalObject>;
  }

  private lookup(space: Space, name: string, confirmed: Map<string, unknown>): Lookup<unknown> {
    for (let i = this.inFlight.length - 1; i >= 0; i--) {
      const e = this.inFlight[i]!;
      if (e.space !== space || (e.name !== null && e.name !== name)) continue;
      if (e.segment !== this.segment) return "wait";
      return { object: e.value };
    }
    return { object: confirmed.get(name) ?? null };
  }

  /** Resolves once no effect of an earlier segment is in flight. */
  settled(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ segment: this.segment, resolve });
      this.wake();
    });
  }

  private wake(): void {
    if (!this.waiters.length) return;
    const oldest = this.inFlight[0]?.segment ?? Number.POSITIVE_INFINITY;
    this.waiters = this.waiters.filter((w) => {
      if (oldest < w.segment) return true;
      w.resolve();
      return false;
    });
  }

  /** Queues a change to confirm with the request it is sent with; returns it for that request to carry. */
  change(
    space: Space,
    name: string | null,
    value: StatementObject | PortalObject | null,
    opts: { dropOnFailure?: boolean; index?: number } = {},
  ): Effect {
    const e: Effect = {
      space,
      name,
      value,
      segment: this.segment,
      dropOnFailure: opts.dropOnFailure ?? false,
      index: opts.index ?? 0,
    };
    this.inFlight.push(e);
    return e;
  }

  /**
   * The server answered the request carrying `effects`: those it confirmed (`confirmed(e)`) are applied;
   * the others are dropped (a failed unnamed Parse also drops the unnamed statement).
   */
  settle(effects: readonly Effect[], confirmed: (e: Effect) => boolean): void {
    for (const e of effects) {
      const at = this.inFlight.indexOf(e);
      if (at !== -1) this.inFlight.splice(at, 1);
      if (confirmed(e)) this.apply(e);
      else if (e.dropOnFailure && e.name !== null) this.map(e.space).delete(e.name);
    }
    this.wake();
  }

  /** A request failed or a ROLLBACK completed: holdable cursors created in the transaction do not survive it. */
  sawRollback(): void {
    this.rolledBack = true;
  }

  private map(space: Space): Map<string, unknown> {
    return space === "statement" ? this.statements : this.portals;
  }

  private apply(e: Effect): void {
    const map = this.map(e.space);
    if (e.name === null) map.clear();
    else if (e.value === null) map.delete(e.name);
    else map.set(e.name, e.value);
  }

  /**
   * ReadyForQuery: with no transaction open ('I'), the server has dropped every portal that is not a
   * committed holdable cursor (portals live until their transaction ends; WITH HOLD ones past a commit).
   */
  ready(status: "I" | "T" | "E"): void {
    if (status === "I") {
      for (const [name, p] of this.portals) {
        if (p.holdable && (p.committed || !this.rolledBack)) p.committed = true;
        else this.portals.delete(name);
      }
    }
    this.rolledBack = false;
  }
}

export type { Effect as ObjectEffect };
