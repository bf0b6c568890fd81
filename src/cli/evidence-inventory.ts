// The connection inventory and entitlements of an evidence bundle, from the configuration: what each
// connection reaches as which account, who may use it (standing or just-in-time) and its time-outs.
// Never a secret: passwords and injected credentials are named by kind only.
import type { Config } from "../config/types.ts";

export function inventory(config: Config): { connections: unknown[]; entitlements: unknown } {
  const connections: Record<string, unknown>[] = config.connections.map((c) => ({
    name: c.name,
    type: c.type,
    target: {
      host: c.target.host,
      port: c.target.port,
      database: c.target.database,
      account: c.target.user,
      tls: c.target.tls,
      credential: c.target.password ? "held by the gateway (password, not exported)" : "none",
    },
    labels: c.labels,
    table_labels: c.tableLabels,
    allow_groups: c.allowGroups,
    access: {
      mode: c.access.mode,
      approvers: c.access.approvers,
      min_approvals: c.access.minApprovals,
      max_duration_ms: c.access.maxDurationMs,
      review_timeout_ms: c.access.reviewTimeoutMs,
    },
    idle_timeout_ms: c.idleTimeoutMs,
    max_session_ms: c.maxSessionMs,
  }));
  for (const c of config.httpConnections) {
    connections.push({
      name: c.name,
      type: "http",
      target: {
        url: c.target,
        credential: c.inject ? `injected by the gateway (${c.inject.kind}, not exported)` : "none",
      },
      labels: c.labels,
      allow_groups: c.allowGroups,
      access: { mode: "standing" },
      idle_timeout_ms: c.idleTimeoutMs,
      max_session_ms: c.maxSessionMs,
    });
  }
  const grants: { group: string; connection: string; mode: string }[] = [];
  for (const c of connections) {
    const mode =
      (c.access as { mode: string }).mode === "request" ? "just-in-time (approved request)" : "standing";
    for (const g of c.allow_groups as string[]) grants.push({ group: g, connection: c.name as string, mode });
  }
  return {
    connections,
    entitlements: {
      source: "configuration at export time",
      config_file: config.source,
      config_sha256: config.configHash,
      issuers: config.identity.issuers.map((i) => ({ issuer: i.issuer, audience: i.audience })),
      agent_groups: config.identity.agentGroups,
      console_roles: config.console.roles,
      grants,
      approvers: config.connections
        .filter((c) => c.access.approvers.length > 0)
        .map((c) => ({
          connection: c.name,
          approver_groups: c.access.approvers,
          min_approvals: c.access.minApprovals,
        })),
      policy_bundle: config.policy.bundle ?? "shipped default pack",
    },
  };
}
