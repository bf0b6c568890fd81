// How a request to an upstream MCP server ends in its connection's audit log when it does not succeed:
// refused after its decision (denied, not approved, unmaskable, audit store gone), or failed upstream
// (an upstream.error event, then the command completed with the failure). tools/call and
// resources/read / prompts/get record them alike; each then answers in its own terms.
import { nowMicros } from "../../core/clock.ts";
import type { Command } from "../../core/command.ts";
import type { Decision } from "../../core/decision.ts";
import type { UpstreamConnection } from "./upstream-session.ts";

/** The command completed as refused by `d` (42501, insufficient_privilege, as every protocol records it). */
export function completeRefused(
  conn: UpstreamConnection,
  command: Command,
  d: Decision,
  startedUs: number,
): void {
  conn.session.completed(command, d, {
    tag: null,
    rows: 0,
    durationUs: nowMicros() - startedUs,
    error: { code: "42501", message: d.reason },
  });
}

/** The upstream failed the allowed command: upstream.error, then the command completed with the failure. */
export function completeUpstreamFailed(
  conn: UpstreamConnection,
  /** The connection the client named (the upstream.error event's). */
  connection: string,
  command: Command,
  decision: Decision,
  startedUs: number,
  message: string,
): void {
  conn.session.event("upstream.error", { connection, code: "upstream.protocol", message });
  conn.session.completed(command, decision, {
    tag: null,
    rows: 0,
    durationUs: nowMicros() - startedUs,
    error: { code: "upstream", message },
  });
}
