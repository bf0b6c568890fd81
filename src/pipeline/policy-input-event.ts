// The policy.input audit event: the exact JSON a decision was evaluated on, so that `custos policy explain`
// can evaluate it again against the bundle that decided. Statement events name it by input_digest.
//
// What it holds and why that is no new secret: the input is built in one place (src/policy/input.ts) from
// the identity's claims (no token), the connection's name, labels and approvers (no target credential), the
// session's address and application name, the command (SQL text, already in the statement event; HTTP
// method, path, query, non-secret headers, the JSON body the recording already holds) and the time.
//
// One event per distinct input per session: a decision evaluated again on the same input (the decision
// cache off, or a repeated statement) names the digest already logged in its session instead of logging
// the same JSON again. The memory of what was logged is bounded; forgetting only writes an input again.
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

/** Inputs remembered as logged, over all sessions (~150 bytes each). */
const REMEMBERED = 65_536;

/** An onEvaluated handler that writes each input's event once per session (first occurrence). */
export function policyInputLog(write: (event: AuditEvent) => void): (e: EvaluatedInput) => void {
  const logged = new Set<string>();
  return (e) => {
    // The bundle is part of the key: the same input under another bundle is explained by that bundle.
    const key = `${e.sessionId}\u0000${e.bundle ?? ""}\u0000${e.digest}`;
    if (logged.has(key)) return;
    if (logged.size >= REMEMBERED) logged.delete(logged.values().next().value as string);
    logged.add(key);
    write(policyInputEvent(e));
  };
}
