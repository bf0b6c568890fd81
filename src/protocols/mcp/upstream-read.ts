// One resources/read or prompts/get to an upstream MCP server, narrated like a tool call: decided on the
// URI or prompt name and arguments in the connection's own gateway session (held for review when the
// policy says so), forwarded with exactly what was decided, its contents masked for the decision's rules
// (refused when they cannot be: binary blobs, images), recorded, and completed in the audit log. Refusals
// are JSON-RPC errors: these methods have no result that could carry one.
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { nowMicros } from "../../core/clock.ts";
import { type Decision, deny } from "../../core/decision.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import { type Evidence, type Masked, maskContents, maskPrompt } from "./mask.ts";
import { frontUri } from "./resource-uri.ts";
import type { CallExtra } from "./tool-call.ts";
import { withoutSecrets } from "./transcript.ts";
import type { UpstreamContents, UpstreamPromptResult } from "./upstream.ts";
import { completeRefused, completeUpstreamFailed } from "./upstream-outcome.ts";
import { mcpCommand, type UpstreamConnection } from "./upstream-session.ts";
import { POLICY_DENIED, UPSTREAM_FAILED } from "./wire-error.ts";

export type ReadOutcome = { status: "ok" | "error" | "refused"; rule?: string; message?: string };

type Request =
  | { method: "resources/read"; connection: string; uri: string }
  | { method: "prompts/get"; connection: string; prompt: string; arguments: Record<string, string> };

export async function readUpstream(
  conn: UpstreamConnection,
  masking: MaskingEngine,
  req: Request,
  /** The prompts/list decision that hid this prompt: the get is refused with it, never decided afresh. */
  hiddenBy: Decision | null,
  extra: CallExtra,
  finish: (outcome: ReadOutcome) => void,
): Promise<Record<string, unknown>> {
  const { session } = conn;
  const started = nowMicros();
  const subject = req.method === "resources/read" ? req.uri : req.prompt;
  const args = req.method === "prompts/get" ? { ...req.arguments } : undefined;
  const command = mcpCommand(req.method, subject, args);
  conn.stats.commands++;
  conn.stats.bytesFromClient += subject.length + (args ? JSON.stringify(args).length : 0);
  session.record({
    t: started,
    dir: "client",
    kind: req.method,
    data: { subject, ...(args ? { arguments: withoutSecrets(args) } : {}) },
  });
  let decision: Decision = hiddenBy ?? (await session.decide(command));
  if (decision.action === "review") {
    const token = extra.progressToken;
    decision = await session.review(command, decision, {}, (notice) => {
      if (token !== undefined)
        void extra.progress(token, 1, `${notice.message}. ${notice.hint}`).catch(() => undefined);
    });
    if (decision.action !== "allow") decision = { ...decision, action: "deny" };
  }
  const refuse = (d: Decision, code = POLICY_DENIED): never => {
    completeRefused(conn, command, d, started);
    finish({ status: "refused", rule: d.rule, message: d.reason });
    throw new McpError(code, `permission denied by policy: ${d.reason} (rule ${d.rule})`, { rule: d.rule });
  };
  if (decision.action !== "allow") return refuse(decision);
  if (!session.recordable()) return refuse(deny("audit store unavailable", "custos.audit_unavailable"));
  if (decision.record === "sync") await session.durable();
  let raw: UpstreamContents | UpstreamPromptResult;
  try {
    raw =
      req.method === "resources/read"
        ? await conn.upstream.readResource(req.uri, extra.signal)
        : await conn.upstream.getPrompt(req.prompt, req.arguments, extra.signal);
  } catch (err) {
    const message = extra.signal.aborted ? "cancelled by the client" : `the upstream failed: ${String(err)}`;
    completeUpstreamFailed(conn, req.connection, command, decision, started, message);
    finish({ status: "error", message });
    throw new McpError(UPSTREAM_FAILED, message);
  }
  let result: UpstreamContents | UpstreamPromptResult = raw;
  let evidence: Evidence | undefined;
  if (decision.mask.length > 0) {
    let masked: Masked<UpstreamContents> | Masked<UpstreamPromptResult>;
    try {
      masked =
        req.method === "resources/read"
          ? maskContents(masking, decision.mask, raw as UpstreamContents)
          : maskPrompt(masking, decision.mask, raw as UpstreamPromptResult);
    } catch (err) {
      return refuse(deny(err instanceof Error ? err.message : String(err), "custos.mask_unavailable"));
    }
    if (!masked.ok) return refuse(deny(masked.reason, "custos.mask_unavailable"), UPSTREAM_FAILED);
    result = masked.result;
    evidence = masked.evidence;
  }
  // The client names resources by their front-door URI: contents say which connection served them.
  const out: Record<string, unknown> =
    req.method === "resources/read"
      ? {
          contents: (result as UpstreamContents).contents.map((c) => ({
            ...c,
            uri: frontUri(req.connection, String(c.uri)),
          })),
        }
      : { ...(result as UpstreamPromptResult) };
  conn.stats.bytesToClient += JSON.stringify(out).length;
  session.record({
    t: nowMicros(),
    dir: "server",
    kind: `${req.method} result`,
    data: { subject, result: out },
  });
  session.completed(command, decision, {
    tag: "ok",
    rows: 0,
    durationUs: nowMicros() - started,
    detail: evidence ? { masking: evidence } : {},
  });
  finish({ status: "ok", rule: decision.rule });
  return out;
}
