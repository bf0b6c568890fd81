// Builds the gateway's HTTP app (admin API and console) around a running test gateway, for app.request():
// the same store, recorder, policy and config, a fresh authenticator that trusts the test issuer and the
// gateway key, and helpers for tokens of each console role.

import type { ApprovalsPort } from "../../src/api/admin/approvals-port.ts";
import type { AdminDeps } from "../../src/api/admin/deps.ts";
import { openAdmin } from "../../src/api/admin/wire.ts";
import { createHttpApp } from "../../src/api/http.ts";
import { storeUrl } from "../../src/gateway.ts";
import { createAuthenticator } from "../../src/identity/authenticator.ts";
import { type GatewayKey, loadOrCreateGatewayKey } from "../../src/identity/gateway-key.ts";
import { issueGatewayToken } from "../../src/identity/gateway-tokens.ts";
import type { TestGateway } from "../support/gateway.ts";

/** Console roles for test gateways: pass as startTestGateway's config.console. */
export const CONSOLE_ROLES = {
  roles: { admin: ["custos-admins"], approver: ["approvers"], auditor: ["auditors"] },
};

export interface AdminHarness {
  app: ReturnType<typeof createHttpApp>;
  key: GatewayKey;
  /** The API's dependencies, e.g. to move its clock (`deps.now`). */
  deps: AdminDeps;
  /** A gateway token for subject with groups (what `custos token issue` prints). */
  gatewayToken(subject: string, groups: string[], ttlMs?: number): Promise<string>;
  /** GET/POST with a Bearer token. */
  call(path: string, token: string | null, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export async function adminHarness(
  t: TestGateway,
  approvals: ApprovalsPort | null = null,
): Promise<AdminHarness> {
  const key = await loadOrCreateGatewayKey(t.dataDir);
  const authenticator = createAuthenticator({
    issuers: t.config.identity.issuers,
    agentGroups: t.config.identity.agentGroups,
    gatewayKey: key,
  });
  const admin = await openAdmin({
    config: t.config,
    storeUrl: storeUrl(t.config),
    authenticator,
    audit: t.gw.recorder,
    policy: t.gw.policy,
    logId: t.gw.logId,
    gatewayPublicKey: key.publicRaw,
    approvals,
  });
  const app = createHttpApp({ notReady: () => [], metrics: () => "" }, { admin: admin.deps });
  return {
    app,
    key,
    deps: admin.deps,
    gatewayToken: (subject, groups, ttlMs = 600_000) =>
      issueGatewayToken(key, { subject, groups, kind: "human", ttlMs }),
    call(path, token, init = {}) {
      const headers = new Headers(init.headers);
      if (token !== null) headers.set("authorization", `Bearer ${token}`);
      return Promise.resolve(app.request(`http://gw.test${path}`, { ...init, headers }));
    },
    close: () => admin.close(),
  };
}
