// Tool results as MCP clients read them: structured content for programs, a text rendering for models.
// Every value in them came through the connection's own front door, masked there.
import type { HttpResult } from "./http-tool.ts";
import type { HeldNotice, SqlOutcome } from "./sql-tool.ts";
import { type ExecOutcome, sshRefusalRule } from "./ssh-tool.ts";
import type { ToolResult } from "./tool-call.ts";

const CELL = 200;

export function toolError(text: string, detail: Record<string, unknown>): ToolResult {
  return {
    content: [{ type: "text", text }],
    structuredContent: { error: { message: text, ...detail } },
    isError: true,
  };
}

export function formatSql(outcome: SqlOutcome): ToolResult {
  if (!outcome.ok) {
    const e = outcome.error;
    const lines = [`ERROR ${e.sqlstate}: ${e.message}`];
    if (e.detail) lines.push(`DETAIL: ${e.detail}`);
    if (e.hint) lines.push(`HINT: ${e.hint}`);
    return toolError(lines.join("\n"), { ...e });
  }
  const r = outcome.result;
  const text = [
    r.columns.length > 0 ? table(r.columns, r.rows) : "",
    `${r.command ?? "(no command tag)"}${r.truncated ? ` (truncated: ${r.rows.length} of ${r.rowCount}+ rows returned)` : ""}`,
  ]
    .filter(Boolean)
    .join("\n");
  return {
    content: [{ type: "text", text }],
    structuredContent: {
      columns: r.columns,
      rows: r.rows,
      row_count: r.rowCount,
      command: r.command,
      truncated: r.truncated,
    },
  };
}

export function formatHttp(r: HttpResult): ToolResult {
  const head = `HTTP ${r.status}${r.contentType ? ` (${r.contentType})` : ""}${r.truncated ? " (body truncated)" : ""}`;
  const structured: Record<string, unknown> = {
    status: r.status,
    content_type: r.contentType,
    body: r.body,
    encoding: r.encoding,
    truncated: r.truncated,
  };
  if (r.rule) structured.rule = r.rule;
  const text = r.rule ? `${head}: refused by Custos (rule ${r.rule})\n${r.body}` : `${head}\n${r.body}`;
  return { content: [{ type: "text", text }], structuredContent: structured, isError: r.status >= 400 };
}

export function formatExec(outcome: ExecOutcome): ToolResult {
  if (!outcome.ok)
    return toolError(`the command could not run: ${outcome.error}`, { code: "upstream.unreachable" });
  const r = outcome.result;
  const status = r.signal !== null ? `signal ${r.signal}` : `exit ${r.exitCode ?? "-"}`;
  const rule = r.exitCode === 126 ? sshRefusalRule(r.stderr) : undefined;
  const text = [
    `${status}${r.truncated ? " (output truncated)" : ""}${rule ? `: refused by Custos (rule ${rule})` : ""}`,
    r.stdout ? `--- stdout\n${r.stdout}` : "",
    r.stderr ? `--- stderr\n${r.stderr}` : "",
  ]
    .filter(Boolean)
    .join("\n");
  return {
    content: [{ type: "text", text }],
    structuredContent: {
      exit_code: r.exitCode,
      signal: r.signal,
      stdout: r.stdout,
      stderr: r.stderr,
      truncated: r.truncated,
      ...(rule ? { rule } : {}),
    },
    isError: r.exitCode !== 0,
  };
}

export function heldResult(
  notice: HeldNotice,
  connection: string,
  what: "statement" | "call" | "command" = "statement",
): ToolResult {
  const text =
    `${notice.message}.\n${notice.hint}\n` +
    `The ${what} on "${connection}" runs once approved (it is bound to this call; calling again files a new ` +
    "request). Its result is not returned to this call; use a client that sends a progressToken to wait for it.";
  return {
    content: [{ type: "text", text }],
    structuredContent: { status: "held", request_id: notice.requestId, approve: notice.hint },
    isError: true,
  };
}

function table(columns: string[], rows: Record<string, unknown>[]): string {
  const cells = rows.map((row) => columns.map((c) => cell(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join(" | ");
  return [line(columns), widths.map((w) => "-".repeat(w)).join("-+-"), ...cells.map(line)].join("\n");
}

function cell(v: unknown): string {
  const s = v === null || v === undefined ? "NULL" : typeof v === "string" ? v : JSON.stringify(v);
  const flat = s.replace(/[\r\n\t]/g, " ");
  return flat.length > CELL ? `${flat.slice(0, CELL - 1)}…` : flat;
}
