// What an execution that involves session objects runs, and under which decision: a simple Query with
// PREPARE/EXECUTE/DECLARE/FETCH/CLOSE… statements, and an Execute of a portal (over a protocol statement, an
// SQL-prepared one, or a cursor). Each EXECUTE is decided with its arguments (as `SELECT <args>`) and the
// prepared statement's decision; each FETCH/MOVE with the cursor's; a name with no decided object is
// refused. The changes a Query makes to the objects are returned as effects to queue when it is forwarded.
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import type { ObjectStatement } from "../../sql/session-objects.ts";
import { combine, runsText, unknownObject } from "./object-decisions.ts";
import type { ObjectEffect, PortalObject, SessionObjects, StatementObject } from "./objects.ts";

export type Decide = (command: Command) => Decision | Promise<Decision>;

export interface Execution {
  /** What the audit and a reviewer see: the text sent, and the text of each prepared statement it runs. */
  command: Command;
  decision: Decision;
  /** Queues the execution's changes to the objects; called when it is forwarded. */
  effects(final: Decision): ObjectEffect[];
  /** Nothing in it executes a statement (only PREPAREs): a review holds its EXECUTEs instead. */
  preparesOnly: boolean;
}

const WAIT = "wait" as const;

async function decided(decide: Decide, text: string): Promise<Decision> {
  return decide({ protocol: "postgres", text });
}

export class ObjectExecutions {
  constructor(
    private readonly objects: SessionObjects,
    private readonly decide: Decide,
  ) {}

  /** A simple Query holding object statements; waits while an earlier segment's change is unanswered. */
  async query(text: string, ops: readonly ObjectStatement[]): Promise<Execution> {
    for (;;) {
      const r = await this.tryQuery(text, ops);
      if (r !== WAIT) return r;
      await this.objects.settled();
    }
  }

  private async tryQuery(text: string, ops: readonly ObjectStatement[]): Promise<Execution | typeof WAIT> {
    const single = ops.length === 1;
    // The policy sees each EXECUTE as the query its arguments are; the rest as written.
    const policyText = ops
      .map((s) => (s.op?.op === "execute" && !s.op.nested ? s.op.args : s.text))
      // On lines of their own: a piece may end in a `--` comment.
      .join("\n;\n");
    let decision = await decided(this.decide, single && ops[0]!.op?.op !== "execute" ? text : policyText);
    // Objects this Query creates or drops, seen by its later statements (the server runs them in order; if
    // one fails, the rest do not run).
    const statements = new Map<string, StatementObject | null>();
    const portals = new Map<string, PortalObject | null>();
    let statementsCleared = false;
    let portalsCleared = false;
    const lookupStatement = (name: string) =>
      statements.has(name)
        ? { object: statements.get(name)! }
        : statementsCleared
          ? { object: null }
          : this.objects.statement(name);
    const lookupPortal = (name: string) =>
      portals.has(name)
        ? { object: portals.get(name)! }
        : portalsCleared
          ? { object: null }
          : this.objects.portal(name);
    const created: { index: number; space: "statement" | "portal"; name: string | null; value: unknown }[] =
      [];
    const cursors: { index: number; name: string; cursor: PortalObject }[] = [];
    const runs: string[] = [];
    let preparesOnly = true;
    for (const [index, s] of ops.entries()) {
      const op = s.op;
      if (op?.op !== "prepare") preparesOnly = false;
      if (!op) continue;
      switch (op.op) {
        case "prepare":
        case "declare": {
          const own = single ? decision : await decided(this.decide, s.text);
          decision = combine(decision, own);
          const command: Command = { protocol: "postgres", text: s.text, statementName: op.name };
          if (op.op === "prepare") {
            const stmt: StatementObject = { command, decision: own, ops: null };
            statements.set(op.name, stmt);
            created.push({ index, space: "statement", name: op.name, value: stmt });
          } else {
            const cursor: PortalObject = {
              statement: null,
              cursor: { command, decision: own },
              holdable: op.hold,
              committed: false,
              binding: null,
            };
            portals.set(op.name, cursor);
            cursors.push({ index, name: op.name, cursor });
          }
          break;
        }
        case "execute": {
          const target = lookupStatement(op.name);
          if (target === WAIT) return WAIT;
          if (!target.object) return refusedExecution(text, unknownObject("statement", op.name));
          decision = combine(decision, target.object.decision);
          if (op.nested) decision = combine(decision, await decided(this.decide, op.args));
          runs.push(`"${op.name}": ${target.object.command.text}`);
          break;
        }
        case "fetch": {
          const target = lookupPortal(op.name);
          if (target === WAIT) return WAIT;
          // A cursor this Query declares is decided with it (its review, if any, holds the whole Query).
          const local = portals.get(op.name)?.cursor?.decision;
          const d = local ?? (target.object ? cursorDecision(target.object) : null);
          if (!d) return refusedExecution(text, unknownObject("portal", op.name));
          decision = combine(decision, d);
          break;
        }
        case "deallocate":
          if (op.name === null) {
            statements.clear();
            statementsCleared = true;
          } else statements.set(op.name, null);
          created.push({ index, space: "statement", name: op.name, value: null });
          break;
        case "close":
          if (op.name === null) {
            portals.clear();
            portalsCleared = true;
          } else portals.set(op.name, null);
          created.push({ index, space: "portal", name: op.name, value: null });
          break;
        case "discard_all":
          statements.clear();
          portals.clear();
          statementsCleared = portalsCleared = true;
          created.push({ index, space: "statement", name: null, value: null });
          created.push({ index, space: "portal", name: null, value: null });
          break;
      }
    }
    const shown = runs.length ? `${text}\n/* prepared statements run: ${runs.join("; ")} */` : text;
    return {
      command: { protocol: "postgres", text: shown },
      decision,
      preparesOnly,
      effects: (final) => {
        for (const c of cursors) {
          // A cursor declared under an approval keeps the approved decision for its FETCHes.
          const d = c.cursor.cursor!.decision;
          if (d.action === "review" && final.action === "allow")
            c.cursor.cursor!.decision = { ...d, action: "allow" };
          created.push({ index: c.index, space: "portal", name: c.name, value: c.cursor });
        }
        created.sort((a, b) => a.index - b.index);
        return created.map((c) =>
          this.objects.change(c.space, c.name, c.value as StatementObject | PortalObject | null, {
            index: c.index,
          }),
        );
      },
    };
  }

  /**
   * An Execute of a portal: the decision of what it runs, or a refusal; `wait` while a change it depends on
   * is unanswered from an earlier segment.
   */
  portal(p: PortalObject): Execution | typeof WAIT | Promise<Execution> {
    if (p.approved) return this.fixed(p.statement?.command ?? p.cursor!.command, p.approved);
    if (p.cursor) return this.fixed(p.cursor.command, p.cursor.decision);
    const stmt = p.statement;
    if (!stmt) {
      const name = p.statementName ?? "";
      return refusedExecution("", unknownObject("statement", name, " (the portal was bound over it)"));
    }
    // A statement refused at its Parse stays refused.
    if (stmt.decision.action === "deny") return this.ofStatement(stmt, stmt.command, stmt.decision);
    const op = stmt.ops?.[0]?.op;
    let decision = stmt.decision;
    let command = stmt.command;
    if (op?.op === "execute") {
      const target = this.objects.statement(op.name);
      if (target === WAIT) return WAIT;
      if (!target.object) return refusedExecution(stmt.command.text, unknownObject("statement", op.name));
      decision = combine(decision, target.object.decision);
      command = { ...command, text: runsText(command.text, op.name, target.object.command.text) };
      if (op.nested) {
        const sent = command;
        const withArgs = decision;
        return decided(this.decide, op.args).then((d) => this.ofStatement(stmt, sent, combine(withArgs, d)));
      }
    } else if (op?.op === "prepare" && decision.action === "review") {
      // PREPARE runs nothing: the statement keeps its review, and each EXECUTE of it is reviewed.
      decision = { ...decision, action: "allow", reason: `prepared under review: ${decision.reason}` };
    } else if (op?.op === "fetch") {
      const target = this.objects.portal(op.name);
      if (target === WAIT) return WAIT;
      const d = target.object ? cursorDecision(target.object) : null;
      if (!d) return refusedExecution(stmt.command.text, unknownObject("portal", op.name));
      decision = combine(decision, d);
    }
    return this.ofStatement(stmt, command, decision);
  }

  private ofStatement(stmt: StatementObject, command: Command, decision: Decision): Execution {
    return { command, decision, preparesOnly: false, effects: (final) => this.portalEffects(stmt, final) };
  }

  private fixed(command: Command, decision: Decision): Execution {
    return { command, decision, preparesOnly: false, effects: () => [] };
  }

  /** The changes an Execute of a statement like `PREPARE …`, `DECLARE …`, `CLOSE …` makes. */
  private portalEffects(stmt: StatementObject, final: Decision): ObjectEffect[] {
    const op = stmt.ops?.[0]?.op;
    if (!op) return [];
    const o = this.objects;
    switch (op.op) {
      case "prepare":
        return [
          o.change("statement", op.name, { command: stmt.command, decision: stmt.decision, ops: null }),
        ];
      case "declare":
        return [
          o.change("portal", op.name, {
            statement: null,
            cursor: { command: stmt.command, decision: final },
            holdable: op.hold,
            committed: false,
            binding: null,
          }),
        ];
      case "deallocate":
        return [o.change("statement", op.name, null)];
      case "close":
        return [o.change("portal", op.name, null)];
      case "discard_all":
        return [o.change("statement", null, null), o.change("portal", null, null)];
      default:
        return [];
    }
  }
}

/**
 * The decision a FETCH or MOVE of a portal runs under: a cursor's own, or a protocol portal's statement's
 * when that statement needs nothing else decided; null when it cannot be attributed (refused).
 */
function cursorDecision(p: PortalObject): Decision | null {
  if (p.approved) return p.approved;
  if (p.cursor) return p.cursor.decision.action === "review" ? null : p.cursor.decision;
  const s = p.statement;
  if (!s || s.ops || s.decision.action === "review") return null;
  return s.decision;
}

function refusedExecution(text: string, decision: Decision): Execution {
  return {
    command: { protocol: "postgres", text: text || `/* ${decision.reason} */` },
    decision,
    preparesOnly: false,
    effects: () => [],
  };
}
