// One tools/call to an upstream MCP server, narrated: decided on the tool's name and arguments in the
// connection's own gateway session, held for review when the policy says so (progress while held; a
// client that sent no progressToken is answered at once with the request id and how to approve it, and
// the call runs once, in the background, when approved), made durable when the decision asks, forwarded
// with exactly the arguments decided, its result masked for the decision's rules (or refused when it
// cannot be), recorded, and completed in the audit log.
import { nowMicros } from "../../core/clock.ts";
import { type Decision, deny } from "../../core/decision.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { maskResult } from "./mask.ts";
import { progressTicker } from "./progress.ts";
import { heldResult, toolError } from "./results.ts";
import type { CallExtra, ToolResult } from "./tool-call.ts";
import { type CallOutcome, withoutSecrets } from "./transcript.ts";
import { completeRefused, completeUpstreamFailed } from "./upstream-outcome.ts";
import { mcpCommand, type UpstreamConnection } from "./upstream-session.ts";

const MAX_ARGS = 1 << 20;

export async function callUpstream(
  conn: UpstreamConnection,
  masking: MaskingEngine,
  tool: string,
  /** The tools/list decision that hid this tool: the call is refused with it, never decided afresh. */
  hiddenBy: Decision | null,
  args: Record<string, unknown>,
  extra: CallExtra,
  /** Aborted when the MCP session closes: a call held in the background ends with it. */
  closing: AbortSignal,
  finish: (outcome: CallOutcome) => void,
): Promise<ToolResult> {
  const { session } = conn;
  const started = nowMicros();
  const argText = JSON.stringify(args);
  if (argText.length > MAX_ARGS) {
    finish({ status: "refused", message: "arguments too large" });
    return toolError(`the arguments are larger than ${MAX_ARGS} bytes`, { code: "protocol.too_large" });
  }
  // The arguments decided are the ones forwarded: a frozen copy made from the text the policy saw.
  const decided = JSON.parse(argText) as Record<string, unknown>;
  const command = mcpCommand("tools/call", tool, decided);
  conn.stats.commands++;
  conn.stats.bytesFromClient += argText.length;
  session.record({
    t: started,
    dir: "client",
    kind: "tools/call",
    data: { tool, arguments: withoutSecrets(decided) },
  });
  let decision: Decision = hiddenBy ?? (await session.decide(command));
  if (decision.action === "review") {
    let stopProgress: (() => void) | null = null;
    let requestId: string | undefined;
    let answerHeld: ((notice: { requestId: string; message: string; hint: string }) => void) | null = null;
    const held = new Promise<{ requestId: string; message: string; hint: string }>((resolve) => {
      answerHeld = resolve;
    });
    const reviewed = session
      .review(command, decision, {}, (notice) => {
        requestId = notice.requestId;
        session.record({
          t: nowMicros(),
          dir: "server",
          kind: "tools/held",
          data: { request_id: requestId },
        });
        if (extra.progressToken === undefined) return answerHeld?.(notice);
        stopProgress = progressTicker(extra, `${notice.message}. ${notice.hint}`, true);
      })
      .finally(() => stopProgress?.());
    const approvedOrDenied = (d: Decision): Decision =>
      d.action === "allow" ? d : { ...d, action: "deny" as const };
    const first = await Promise.race([
      reviewed.then((d) => ({ done: true as const, decision: d })),
      held.then((notice) => ({ done: false as const, notice })),
    ]);
    if (!first.done) {
      // No progress channel: the caller learns the request and how to approve it now. The call stays
      // bound to this one request and runs at most once, when approved, under the session's own signal
      // (the client's request is over); its outcome is recorded in both sessions.
      const noticed = first.notice;
      void reviewed.then((d) =>
        proceed(approvedOrDenied(d), closing, noticed.requestId).catch(() => undefined),
      );
      return heldResult(noticed, session.connection.name, "call");
    }
    decision = approvedOrDenied(first.decision);
    return proceed(decision, extra.signal, requestId);
  }
  return proceed(decision, extra.signal, undefined);

  async function proceed(decision: Decision, signal: AbortSignal, requestId: string | undefined) {
    const refuse = (d: Decision) => {
      completeRefused(conn, command, d, started);
      finish({
        status: "error",
        rule: d.rule,
        message: d.reason,
        ...(d.approval ? { request_id: d.approval.id } : requestId ? { request_id: requestId } : {}),
      });
      return toolError(`permission denied by policy: ${d.reason} (rule ${d.rule})`, {
        code: "policy.denied",
        rule: d.rule,
      });
    };
    if (decision.action !== "allow") return refuse(decision);
    if (!session.recordable()) return refuse(deny("audit store unavailable", "custos.audit_unavailable"));
    if (decision.record === "sync") await session.durable();
    let raw: Awaited<ReturnType<typeof conn.upstream.call>>;
    try {
      raw = await conn.upstream.call(tool, decided, signal);
    } catch (err) {
      const message = signal.aborted ? "cancelled by the client" : `the upstream failed: ${String(err)}`;
      completeUpstreamFailed(conn, session.connection.name, command, decision, started, message);
      finish({ status: "error", message });
      return toolError(message, { code: "upstream.protocol" });
    }
    let result = raw;
    let evidence: Record<string, unknown> | undefined;
    if (decision.mask.length > 0) {
      let masked: ReturnType<typeof maskResult>;
      try {
        masked = maskResult(masking, decision.mask, raw);
      } catch (err) {
        return refuse(deny(err instanceof Error ? err.message : String(err), "custos.mask_unavailable"));
      }
      if (!masked.ok) return refuse(deny(masked.reason, "custos.mask_unavailable"));
      result = masked.result;
      evidence = masked.evidence;
    }
    const out = JSON.stringify(result);
    conn.stats.bytesToClient += out.length;
    session.record({ t: nowMicros(), dir: "server", kind: "tools/result", data: { tool, result } });
    session.completed(command, decision, {
      tag: result.isError ? "error" : "ok",
      rows: 0,
      durationUs: nowMicros() - started,
      detail: evidence ? { masking: evidence } : {},
    });
    finish({
      status: result.isError ? "error" : "ok",
      rule: decision.rule,
      ...(requestId ? { request_id: requestId } : {}),
    });
    return result as ToolResult;
  }
}
