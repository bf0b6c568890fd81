// Builds the admin API's dependencies from the gateway's parts: a second, read-only handle on the audit store
// (the recorder worker owns the writing one; WAL lets both run), the console cookie key, the policy's load
// time, and connection summaries that carry no credential.
import { openStore } from "../../audit/store.ts";
import type { ExpectedLog } from "../../audit/verify.ts";
import type { Config } from "../../config/types.ts";
import type { AuditEvent } from "../../core/audit-event.ts";
import { passThrough } from "../../core/recording-expander.ts";
import type { Authenticator } from "../../identity/authenticator.ts";
import { expandRecording, pgStreamExpander } from "../../protocols/postgres/recording.ts";
import type { ApprovalsPort } from "./approvals-port.ts";
import { loadOrCreateConsoleKey } from "./console-key.ts";
import type { AdminDeps, ConnectionSummary } from "./deps.ts";

export interface AdminWiring {
  config: Config;
  storeUrl: string;
  authenticator: Authenticator;
  audit: { event(event: AuditEvent): void };
  policy: { readonly hash: string | null; onSwap(listener: (hash: string) => void): () => void };
  logId: string;
  gatewayPublicKey: Uint8Array;
  approvals: ApprovalsPort | null;
  classification?: AdminDeps["classification"];
  verifyExpect?: () => Promise<ExpectedLog[]>;
}

export async function openAdmin(w: AdminWiring): Promise<{ deps: AdminDeps; close(): Promise<void> }> {
  const store = await openStore(w.storeUrl);
  let loadedAt: number | null = w.policy.hash ? Date.now() : null;
  const unsubscribe = w.policy.onSwap(() => {
    loadedAt = Date.now();
  });
  const deps: AdminDeps = {
    console: w.config.console,
    connections: summarize(w.config),
    authenticator: w.authenticator,
    store,
    audit: w.audit,
    policy: { hash: () => w.policy.hash, loadedAt: () => loadedAt, source: w.config.policy.bundle },
    logId: w.logId,
    gatewayPublicKey: w.gatewayPublicKey,
    cookieKey: loadOrCreateConsoleKey(w.config.dataDir),
    approvals: w.approvals,
    ...(w.classification ? { classification: w.classification } : {}),
    ...(w.verifyExpect ? { verifyExpect: w.verifyExpect } : {}),
    secureCookies: false,
    decodeRecording: (protocol, frames) => (protocol === "postgres" ? expandRecording(frames) : frames),
    recordingExpander: (protocol, state) =>
      protocol === "postgres" ? pgStreamExpander(state) : passThrough(protocol, state),
  };
  return {
    deps,
    async close() {
      unsubscribe();
      await store.close();
    },
  };
}

/** Field by field on purpose: a credential added to the config later must not appear here by accident. */
export function summarize(config: Pick<Config, "connections" | "httpConnections">): ConnectionSummary[] {
  const pg = config.connections.map(
    (c): ConnectionSummary => ({
      name: c.name,
      type: c.type,
      target: `${c.target.host}:${c.target.port}/${c.target.database}`,
      user: c.target.user,
      tls: c.target.tls,
      allowGroups: c.allowGroups,
      labels: c.labels,
      access: c.access,
      idleTimeoutMs: c.idleTimeoutMs,
      maxSessionMs: c.maxSessionMs,
    }),
  );
  const http = config.httpConnections.map(
    (c): ConnectionSummary => ({
      name: c.name,
      type: c.type,
      target: withoutCredentials(c.target),
      allowGroups: c.allowGroups,
      labels: c.labels,
      idleTimeoutMs: c.idleTimeoutMs,
      maxSessionMs: c.maxSessionMs,
    }),
  );
  return [...pg, ...http];
}

/** A base URL may carry user:password@ or a query with a key: neither is shown. */
function withoutCredentials(text: string): string {
  try {
    const url = new URL(text);
    url.username = "";
    url.password = "";
    url.search = "";
    return url.toString().replace(/\/$/, "");
  } catch {
    return "(invalid url)";
  }
}
