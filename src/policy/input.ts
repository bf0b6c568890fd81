// The single definition of the policy input (documented in policy/README.md). Every protocol's commands
// reach Rego in this shape; SQL protocols add the classifier's statements.

import type { Command, HttpRequestInfo, ResolvedStatement } from "../core/command.ts";
import type { Identity, IdentityKind } from "../core/identity.ts";
import type { ConnectionInfo } from "../core/session.ts";
import type { SqlStatement } from "../sql/types.ts";

export interface PolicyStatement extends SqlStatement {
  /** Labels of the tables this statement touches (from `connections[].table_labels`); absent tables have none. */
  table_labels: Record<string, string[]>;
  /**
   * SQL protocols, masked identities: the statement as the target's catalog resolves it (Command.catalog):
   * `status` (resolved, unresolved, not_applicable) and `reason`; `uses`, one per base-table column and
   * way it is used (`output`, `computed`, `filter`, `whole_row`, `subplan`, `set_operation`), each with
   * the column (`schema.table.column`), its snake_case `name`, where the plan showed it, and the `labels`
   * configuration and the classification scan give it; `functions` with their catalog volatility.
   * Absent when the protocol did not resolve the command.
   */
  catalog?: ResolvedStatement;
}

export interface PolicyInput {
  identity: { subject: string; issuer: string; groups: string[]; kind: IdentityKind };
  /** approvers: the connection's approver groups (`connections[].approvers`); empty when nobody can approve. */
  connection: { name: string; type: string; labels: string[]; approvers: string[] };
  session: { id: string; client_addr: string; started_at: string; application_name: string };
  command: {
    protocol: string;
    text: string;
    statements?: PolicyStatement[];
  } & Partial<HttpRequestInfo> &
    Record<string, unknown>;
  /** Evaluation time (OPA's time builtins are not compiled to WASM, so the time comes in the input). */
  time: { rfc3339: string; unix_ms: number; weekday: number; hour: number };
}

export interface SessionInfo {
  id: string;
  clientAddr: string;
  /** Epoch milliseconds. */
  startedAt: number;
  applicationName?: string;
}

export interface DecisionContext {
  identity: Identity;
  connection: ConnectionInfo;
  session: SessionInfo;
}

/** Table name → labels, as configured for one connection. */
export type TableLabels = Readonly<Record<string, readonly string[]>>;

export function statementLabels(
  statement: SqlStatement,
  tableLabels: TableLabels | undefined,
): PolicyStatement {
  const labels: Record<string, string[]> = {};
  if (tableLabels) {
    for (const table of [...statement.tables_read, ...statement.tables_written]) {
      const found = tableLabels[table];
      if (found) labels[table] = [...found];
    }
  }
  return { ...statement, table_labels: labels };
}

function withCatalog(
  statements: readonly SqlStatement[],
  tableLabels: TableLabels | undefined,
  command: Command,
): PolicyStatement[] {
  const resolved = command.catalog?.statements;
  return statements.map((s, i) => {
    const labelled = statementLabels(s, tableLabels);
    if (!resolved) return labelled;
    // The resolver splits the text with the same parser; a different count means the two disagree.
    const catalog: ResolvedStatement =
      resolved.length === statements.length
        ? resolved[i]!
        : {
            status: "unresolved",
            reason: "the catalog resolution does not match the statements",
            uses: [],
            functions: [],
          };
    return { ...labelled, catalog };
  });
}

export function timeInput(now: number): PolicyInput["time"] {
  const d = new Date(now);
  return { rfc3339: d.toISOString(), unix_ms: now, weekday: d.getUTCDay(), hour: d.getUTCHours() };
}

export function buildPolicyInput(
  ctx: DecisionContext,
  command: Command,
  statements: readonly SqlStatement[] | undefined,
  tableLabels: TableLabels | undefined,
  now: number = Date.now(),
  approvers: readonly string[] = [],
): PolicyInput {
  const { identity, connection, session } = ctx;
  return {
    identity: {
      subject: identity.subject,
      issuer: identity.issuer,
      groups: [...identity.groups],
      kind: identity.kind,
    },
    connection: {
      name: connection.name,
      type: connection.type,
      labels: [...connection.labels],
      approvers: [...approvers],
    },
    session: {
      id: session.id,
      client_addr: session.clientAddr,
      started_at: new Date(session.startedAt).toISOString(),
      application_name: session.applicationName ?? "",
    },
    command: {
      // Other protocols' own fields (Command.details) first: `protocol` and `text` are not theirs to replace.
      ...command.details,
      protocol: command.protocol,
      text: command.text,
      ...(statements ? { statements: withCatalog(statements, tableLabels, command) } : {}),
      // HTTP: method, path, query, headers, body (when JSON and within the bound).
      ...command.http,
    },
    time: timeInput(now),
  };
}
