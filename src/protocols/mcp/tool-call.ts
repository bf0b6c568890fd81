// One tools/call, narrated: find the tool (unknown ones are a protocol error), check its arguments against
// the allow-list, record the call in the MCP session's transcript, run it through the connection's own
// front door, report a hold for approval (progress while held, or a result naming the request), and record
// the outcome. Nothing here decides: the native session the call runs in does.
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { nowMicros } from "../../core/clock.ts";
import type { GatewaySession } from "../../core/session.ts";
import type { MaskingEngine } from "../../masking/engine.ts";
import type { AwsCaller } from "./aws-tool.ts";
import { type HttpResult, sendRequest } from "./http-tool.ts";
import { progressTicker } from "./progress.ts";
import { formatExec, formatHttp, formatSql, heldResult, toolError } from "./results.ts";
import type { HeldNotice, SqlClients } from "./sql-tool.ts";
import { type ExecOutcome, sshRefusalRule } from "./ssh-tool.ts";
import { type ExecArgs, parseAwsArgs, parseExecArgs, parseQueryArgs, parseRequestArgs } from "./tool-args.ts";
import type { ToolEntry } from "./tools.ts";
import { type CallOutcome, withoutSecrets } from "./transcript.ts";
import { callUpstream } from "./upstream-call.ts";
import type { UpstreamConnection } from "./upstream-session.ts";

export interface CallContext {
  session: GatewaySession<null>;
  tools: ReadonlyMap<string, ToolEntry>;
  sql(connection: string): SqlClients;
  /** AWS calls through the AWS listener on loopback, signed with keys minted for this caller. */
  aws: AwsCaller;
  /** One command through the SSH listener on loopback, as this caller. */
  exec(
    connection: string,
    args: ExecArgs,
    held: (notice: HeldNotice) => void,
    signal: AbortSignal,
  ): Promise<ExecOutcome>;
  httpPort(): number;
  /** The gateway session and client of a `type: mcp` connection this MCP session opened. */
  upstream(connection: string): UpstreamConnection | undefined;
  masking: MaskingEngine;
  credential: string;
  /** Aborted when the MCP session closes: a call still held in the background ends with it. */
  closing: AbortSignal;
  nextSeq(): number;
  /** Bytes this session received and sent, for session.end. */
  count(fromClient: number, toClient: number): void;
}

export interface CallExtra {
  signal: AbortSignal;
  progressToken?: string | number;
  progress(token: string | number, progress: number, message: string): Promise<void>;
}

export interface ToolResult {
  [key: string]: unknown;
  content: { type: "text"; text: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export async function callTool(
  ctx: CallContext,
  name: string,
  rawArgs: unknown,
  extra: CallExtra,
): Promise<ToolResult> {
  const seq = ctx.nextSeq();
  const started = nowMicros();
  const tool = ctx.tools.get(name);
  const args = withoutSecrets(rawArgs ?? {});
  ctx.count(JSON.stringify(args).length, 0);
  const finish = (outcome: CallOutcome) => {
    ctx.session.record({ t: nowMicros(), dir: "server", kind: "tools/result", data: { seq, ...outcome } });
    ctx.session.event("mcp.tool_call", {
      seq,
      tool: name,
      connection: tool?.connection,
      arguments: args,
      duration_us: nowMicros() - started,
      ...outcome,
    });
  };
  ctx.session.record({
    t: started,
    dir: "client",
    kind: "tools/call",
    data: { seq, tool: name, arguments: args },
  });
  if (!tool) {
    finish({ status: "refused", message: "unknown tool" });
    throw new McpError(
      ErrorCode.InvalidParams,
      `unknown tool "${name}": tools/list names the tools this identity may use`,
    );
  }
  if (!ctx.session.recordable()) {
    finish({ status: "refused", message: "audit store unavailable" });
    return toolError("audit store unavailable: tool calls are refused", { code: "audit.unavailable" });
  }
  if (tool.kind === "upstream") {
    const conn = ctx.upstream(tool.connection);
    const isObject = typeof (rawArgs ?? {}) === "object" && !Array.isArray(rawArgs ?? {});
    if (!conn || !tool.upstream || !isObject) {
      finish({ status: "refused", message: conn ? "arguments must be an object" : "connection closed" });
      throw new McpError(ErrorCode.InvalidParams, `${name}: arguments must be an object`);
    }
    return callUpstream(
      conn,
      ctx.masking,
      tool.upstream.name,
      tool.hiddenBy ?? null,
      (rawArgs ?? {}) as Record<string, unknown>,
      extra,
      ctx.closing,
      finish,
    );
  }
  if (tool.kind === "request") {
    const parsed = parseRequestArgs(rawArgs);
    if (!parsed.ok) {
      finish({ status: "refused", message: parsed.message });
      throw new McpError(ErrorCode.InvalidParams, `${name}: ${parsed.message}`);
    }
    return httpShaped(
      ctx,
      extra,
      finish,
      "request failed",
      () => sendRequest(ctx.httpPort(), ctx.credential, tool.connection, parsed.args, extra.signal),
      (r) => r.rule,
    );
  }
  if (tool.kind === "call") {
    const parsed = parseAwsArgs(rawArgs);
    if (!parsed.ok) {
      finish({ status: "refused", message: parsed.message });
      throw new McpError(ErrorCode.InvalidParams, `${name}: ${parsed.message}`);
    }
    // A call the policy holds waits here: the AWS listener keeps its response until humans decide, and
    // says nothing meanwhile, so a client that sent a progressToken is told the call is still waiting.
    const stopProgress = progressTicker(
      extra,
      "waiting for the AWS call (one held for approval waits for an approver)",
      false,
    );
    return httpShaped(
      ctx,
      extra,
      finish,
      "call failed",
      () => ctx.aws.call(tool.connection, parsed.args, extra.signal).finally(stopProgress),
      // The AWS listener names the rule only in its error body.
      (r) => /\(rule ([\w.]+)\)/.exec(r.body)?.[1],
    );
  }
  if (tool.kind === "exec") {
    const parsed = parseExecArgs(rawArgs);
    if (!parsed.ok) {
      finish({ status: "refused", message: parsed.message });
      throw new McpError(ErrorCode.InvalidParams, `${name}: ${parsed.message}`);
    }
    return holdable(
      ctx,
      seq,
      extra,
      tool.connection,
      "command",
      (onHeld, signal) => ctx.exec(tool.connection, parsed.args, onHeld, signal),
      (outcome, request) => {
        if (!outcome.ok) return finish({ status: "error", message: outcome.error, ...request });
        const r = outcome.result;
        const rule = r.exitCode === 126 ? sshRefusalRule(r.stderr) : undefined;
        finish({
          status: r.exitCode === 0 ? "ok" : "error",
          exit_code: r.exitCode,
          truncated: r.truncated,
          ...(rule ? { rule } : {}),
          ...request,
        });
      },
      formatExec,
    );
  }
  const parsed = parseQueryArgs(rawArgs);
  if (!parsed.ok) {
    finish({ status: "refused", message: parsed.message });
    throw new McpError(ErrorCode.InvalidParams, `${name}: ${parsed.message}`);
  }
  return holdable(
    ctx,
    seq,
    extra,
    tool.connection,
    "statement",
    (onHeld, signal) => ctx.sql(tool.connection).run(parsed.args, onHeld, signal),
    (outcome, request) => {
      if (outcome.ok) {
        const r = outcome.result;
        finish({ status: "ok", rows: r.rowCount, truncated: r.truncated, command: r.command, ...request });
      } else {
        const rule = /\(rule ([\w.]+)\)/.exec(outcome.error.message)?.[1];
        finish({
          status: "error",
          sqlstate: outcome.error.sqlstate,
          message: outcome.error.message,
          ...(rule ? { rule } : {}),
          ...request,
        });
      }
    },
    formatSql,
  );
}

/**
 * A call through a connection's own front door that the policy may hold for approval: run under its own
 * signal (a client that is told "held" and goes away does not cancel it; closing the MCP session does),
 * progress reported while held, or, without a progressToken, a result naming the request at once while
 * the call stays bound to it and its outcome is recorded when the approver decides.
 */
async function holdable<T>(
  ctx: CallContext,
  seq: number,
  extra: CallExtra,
  connection: string,
  what: "statement" | "command",
  start: (onHeld: (notice: HeldNotice) => void, signal: AbortSignal) => Promise<T>,
  settle: (outcome: T, request: { request_id?: string }) => void,
  format: (outcome: T) => ToolResult,
): Promise<ToolResult> {
  const running = new AbortController();
  const onClose = () => running.abort();
  ctx.closing.addEventListener("abort", onClose, { once: true });
  const onClientAbort = () => running.abort();
  extra.signal.addEventListener("abort", onClientAbort, { once: true });
  let heldNotice: HeldNotice | null = null;
  let stopProgress: (() => void) | null = null;
  let answerHeld: ((notice: HeldNotice) => void) | null = null;
  const heldAnswer = new Promise<HeldNotice>((resolve) => {
    answerHeld = resolve;
  });
  const onHeld = (notice: HeldNotice) => {
    heldNotice = notice;
    ctx.session.record({
      t: nowMicros(),
      dir: "server",
      kind: "tools/held",
      data: { seq, request_id: notice.requestId },
    });
    if (extra.progressToken === undefined) {
      answerHeld?.(notice);
      return;
    }
    stopProgress = progressTicker(extra, `${notice.message}. ${notice.hint}`, true);
  };
  const run = start(onHeld, running.signal).finally(() => {
    stopProgress?.();
    ctx.closing.removeEventListener("abort", onClose);
  });
  const request = () => {
    const held = heldNotice as HeldNotice | null;
    return held ? { request_id: held.requestId } : {};
  };
  const first = await Promise.race([
    run.then((o) => ({ done: true as const, outcome: o })),
    heldAnswer.then((n) => ({ done: false as const, notice: n })),
  ]);
  extra.signal.removeEventListener("abort", onClientAbort);
  if (!first.done) {
    // No progress channel: the caller learns the request and how to approve it now; the call stays
    // held (bound to this one call) and its outcome is recorded in this session when the approver decides.
    void run.then(
      (o) => settle(o, request()),
      () => undefined,
    );
    return heldResult(first.notice, connection, what);
  }
  settle(first.outcome, request());
  const result = format(first.outcome);
  ctx.count(0, result.content[0]?.text.length ?? 0);
  return result;
}

/**
 * An HTTP-shaped call (an HTTP request, an AWS call) through its listener on loopback: its response
 * formatted, counted and recorded with the rule that refused it, if one did; a failure (or the client's
 * cancel) is a tool error.
 */
async function httpShaped(
  ctx: CallContext,
  extra: CallExtra,
  finish: (outcome: CallOutcome) => void,
  failed: "request failed" | "call failed",
  send: () => Promise<HttpResult>,
  ruleOf: (r: HttpResult) => string | undefined,
): Promise<ToolResult> {
  try {
    const r = await send();
    const result = formatHttp(r);
    ctx.count(0, r.body.length);
    const rule = ruleOf(r);
    finish({
      status: r.status >= 400 ? "error" : "ok",
      http_status: r.status,
      truncated: r.truncated,
      ...(rule ? { rule } : {}),
    });
    return result;
  } catch (err) {
    const message = extra.signal.aborted ? "cancelled by the client" : `${failed}: ${String(err)}`;
    finish({ status: "error", message });
    return toolError(message, { code: "upstream.unreachable" });
  }
}
