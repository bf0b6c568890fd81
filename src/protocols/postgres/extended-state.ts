// The extended protocol's named objects as the relay sees them: prepared statements with the decision made
// at their Parse, the portals bound over them, each portal's masking state, and the bind parameters an
// approval binds to when a portal's statement is under review.
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import type { ReviewBinding } from "../../core/session.ts";
import type { CommandMask } from "./result-masking.ts";

export interface Prepared {
  command: Command;
  decision: Decision;
}

export class ExtendedState {
  private readonly statements = new Map<string, Prepared>();
  /** Portal name → the statement it was bound over. */
  private readonly portals = new Map<string, string>();
  /** Masking state per portal whose statement's decision masks results (set at Bind). */
  private readonly portalMasks = new Map<string, CommandMask>();
  /** Bind parameters of portals over statements under review: an approval binds to them. */
  private readonly reviewBinds = new Map<string, Required<ReviewBinding>>();

  /** A Parse: the statement keeps its decision, whatever it is, for the Executes of its portals. */
  parsed(name: string, command: Command, decision: Decision): void {
    this.statements.set(name, { command, decision });
  }

  statement(name: string): Prepared | undefined {
    return this.statements.get(name);
  }

  /** A Bind of `portal` over `statement`; a statement under review keeps a copy of the parameters. */
  bound(portal: string, statement: string, params: (Uint8Array | null)[], paramFormats: number[]): void {
    this.portals.set(portal, statement);
    if (this.statements.get(statement)?.decision.action === "review") {
      this.reviewBinds.set(portal, { params: params.map((p) => p && p.slice()), paramFormats });
    } else if (this.reviewBinds.size) this.reviewBinds.delete(portal);
  }

  /** A Close of a statement ('S') or a portal ('P'). */
  closed(which: "S" | "P", name: string): void {
    if (which === "S") this.statements.delete(name);
    else {
      this.portals.delete(name);
      this.reviewBinds.delete(name);
    }
  }

  /** The statement a portal was bound over; undefined when no Bind was seen for it. */
  statementOf(portal: string): string | undefined {
    return this.portals.get(portal);
  }

  reviewBinding(portal: string): Required<ReviewBinding> | undefined {
    return this.reviewBinds.get(portal);
  }

  portalMask(portal: string): CommandMask | undefined {
    return this.portalMasks.get(portal);
  }

  /** Sets the masking state of a portal's results; null when its statement masks nothing. */
  setPortalMask(portal: string, mask: CommandMask | null): void {
    if (mask) this.portalMasks.set(portal, mask);
    else if (this.portalMasks.size) this.portalMasks.delete(portal);
  }
}
