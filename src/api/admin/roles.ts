// Console roles from identity groups (config `console.roles`). An identity holds every role one of its groups
// grants; holding none means it may not use the admin API at all, even with a valid token.
import type { ConsoleConfig } from "../../config/types.ts";

export type Role = "admin" | "approver" | "auditor";

export const ROLES: readonly Role[] = ["admin", "approver", "auditor"];

export function rolesFor(groups: readonly string[], roles: ConsoleConfig["roles"]): Role[] {
  return ROLES.filter((role) => roles[role].some((g) => groups.includes(g)));
}

/** What each kind of access needs: reading recordings and audit state, or deciding approvals. */
export const CAN = {
  read: ["admin", "auditor"],
  readApprovals: ["admin", "approver", "auditor"],
  decide: ["admin", "approver"],
} as const satisfies Record<string, readonly Role[]>;

export function allowed(held: readonly Role[], needed: readonly Role[]): boolean {
  return held.some((r) => needed.includes(r));
}
