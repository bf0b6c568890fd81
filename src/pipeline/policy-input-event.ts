// The policy.input audit event: the exact JSON a decision was evaluated on, so that `custos policy explain`
// can evaluate it again against the bundle that decided. Statement events name it by input_digest.
//
// What it holds and why that is no new secret: the input is built in one place (src/policy/input.ts) from
// the identity's claims (no token), the connection's name, labels and approvers (no target credential), the
// session's address and application name, the command (SQL text, already in the statement event; HTTP
// method, path, query, non-secret headers, the JSON body the recording already holds) and the time.
import type { AuditEvent } from "../core/audit-event.ts";
import type { EvaluatedInput } from "../policy/decider.ts";

export function policyInputEvent(e: EvaluatedInput): AuditEvent {
  return {
    type: "policy.input",
    time: Date.now(),
    sessionId: e.sessionId,
    data: { bundle: e.bundle, digest: e.digest, input: e.json },
  };
}
