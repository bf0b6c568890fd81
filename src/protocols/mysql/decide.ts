// Deciding one command of a MySQL session: the policy's decision, a review held for approval (held.ts)
// and told to the client as an ERR naming the request, a refusal as MySQL's own error, and the record
// made (durable first where the decision says so) before anything reaches the server.
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import { CustosError } from "../../core/errors.ts";
import type { GatewaySession } from "../../core/session.ts";
import { errPayload } from "./codec.ts";
import { type HeldAnswer, HeldStatements, heldKey, MAX_HELD } from "./held.ts";
import type { MysqlTarget } from "./target.ts";
import { refusal } from "./wire-error.ts";

/**
 * A statement held for approval: ER_SIGNAL_EXCEPTION (1644, what a server-side SIGNAL raises, so drivers
 * treat it as a statement error and keep the connection) with SQLSTATE class 45 ("unhandled user-defined
 * exception") and the gateway's own subclass C01.
 */
export const HELD_ERRNO = 1644;
export const HELD_SQLSTATE = "45C01";

/** How the decider answers the client (sequence id 1: the reply to a command). */
export interface ClientReply {
  error(seq: number, err: CustosError): void;
  payload(seq: number, payload: Uint8Array): void;
}

export class CommandDecider {
  private readonly held: HeldStatements;

  constructor(
    private readonly session: GatewaySession<MysqlTarget>,
    private readonly reply: ClientReply,
  ) {
    const target = session.connection.target;
    this.held = new HeldStatements(target.heldReplyMs ?? 2_000, target.heldRetryMs ?? 600_000, (id, why) =>
      session.event("mysql.approval_unused", { request_id: id, reason: why }),
    );
  }

  /** Decides a command; null when refused or held (the client has its error). */
  async decide(command: Command, binding: { params?: (Uint8Array | null)[] } = {}): Promise<Decision | null> {
    if (!this.session.recordable()) {
      this.reply.error(
        1,
        new CustosError("audit.unavailable", "the audit store is unavailable; nothing runs"),
      );
      return null;
    }
    const answer = await this.answer(command, binding);
    if (answer === null) return null;
    if (answer.state === "held") {
      this.tellHeld(command, answer.requestId, answer.again);
      return null;
    }
    const decision = answer.decision;
    if (decision.action !== "allow") {
      const message = decision.error?.message ?? `custos: ${decision.reason} (${decision.rule})`;
      this.reply.payload(1, refusal(message, decision.error?.sqlstate));
      this.session.completed(command, decision, {
        tag: null,
        rows: 0,
        error: { code: decision.rule, message: decision.reason },
        durationUs: 0,
      });
      return null;
    }
    this.session.record({
      t: Date.now() * 1000,
      dir: "client",
      kind: command.keyword ?? "Query",
      data: { text: command.text },
    });
    if (decision.record === "sync") {
      try {
        await this.session.durable();
      } catch {
        this.reply.error(
          1,
          new CustosError("audit.unavailable", "the audit record could not be made durable; nothing ran"),
        );
        return null;
      }
    }
    return decision;
  }

  /** The policy's decision, or a held statement's outcome; null when the client was refused here. */
  private async answer(
    command: Command,
    binding: { params?: (Uint8Array | null)[] },
  ): Promise<HeldAnswer | null> {
    const key = heldKey(command, binding.params);
    if (this.held.has(key)) return this.held.retry(key);
    let decision = await this.session.decide(command);
    if (decision.action === "review" && command.keyword === "Prepare") {
      // Preparing runs nothing: the statement is prepared and each execution is held with its parameters.
      decision = {
        ...decision,
        action: "allow",
        reason: `prepared; each execution needs approval: ${decision.reason}`,
      };
    }
    if (decision.action !== "review") return { state: "decided", decision };
    if (this.held.size >= MAX_HELD) {
      this.reply.error(1, new CustosError("session.limit", `at most ${MAX_HELD} statements held at once`));
      return null;
    }
    const asked = decision;
    return this.held.start(key, (told) =>
      this.session
        .review(command, asked, binding, (n) => told(n.requestId))
        .then(
          (final): Decision =>
            final.action !== "allow"
              ? { ...final, action: "deny" } // only an approval releases the statement
              : // An approval releases the statement, never its masking: the reviewed plan still applies
                // (DELETE … RETURNING ssn, approved, still reaches an agent masked).
                { ...final, record: "sync", mask: [...asked.mask, ...final.mask] },
        ),
    );
  }

  /** The client is told its statement waits for approval, and how to get it run (held.ts). */
  private tellHeld(command: Command, requestId: string | null, again: boolean): void {
    const id = requestId ?? "(not yet filed)";
    this.session.event("mysql.statement_held", { request_id: requestId, again });
    this.session.record({
      t: Date.now() * 1000,
      dir: "server",
      kind: "Held",
      data: { request_id: requestId, text: command.text },
    });
    this.reply.payload(
      1,
      errPayload(
        HELD_ERRNO,
        HELD_SQLSTATE,
        `custos: statement ${again ? "still " : ""}held for approval: request ${id}. An approver runs: custos approve ${id}; then send the same statement again in this session (it runs once).`,
      ),
    );
  }

  /** The session ended: approvals left unused are audited. */
  close(): void {
    this.held.clear();
  }
}
