// Maps a parse-tree node name to the statement kind the policy sees. Unknown nodes are `other`, which the
// default pack refuses to agents: a new PostgreSQL statement type is denied until someone classifies it.

import type { StatementKind } from "./types.ts";

const EXACT: Record<string, StatementKind> = {
  SelectStmt: "select",
  InsertStmt: "insert",
  UpdateStmt: "update",
  DeleteStmt: "delete",
  MergeStmt: "merge",
  TruncateStmt: "truncate",
  CopyStmt: "copy",
  CallStmt: "call",
  DoStmt: "do",
  TransactionStmt: "transaction",
  IndexStmt: "create",
  ViewStmt: "create",
  DefineStmt: "create",
  RuleStmt: "create",
  CompositeTypeStmt: "create",
  ImportForeignSchemaStmt: "create",
  RenameStmt: "alter",
  CommentStmt: "alter",
  SecLabelStmt: "alter",
  ReassignOwnedStmt: "alter",
  AlterDefaultPrivilegesStmt: "grant",
};

export function kindOf(node: string, body: Record<string, unknown>): StatementKind {
  if (node === "SelectStmt" && body.intoClause) return "create"; // SELECT ... INTO new_table
  if (node === "GrantStmt" || node === "GrantRoleStmt") return body.is_grant === true ? "grant" : "revoke";
  if (node === "VariableSetStmt") {
    const name = typeof body.name === "string" ? body.name.toLowerCase() : "";
    return name === "transaction" || name === "session characteristics" ? "transaction" : "set";
  }
  const exact = EXACT[node];
  if (exact) return exact;
  if (node.startsWith("Create")) return "create";
  if (node.startsWith("Alter")) return "alter";
  if (node.startsWith("Drop")) return "drop";
  return "other";
}
