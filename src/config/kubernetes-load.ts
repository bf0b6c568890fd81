// Resolves a validated `type: kubernetes` connection: the CA and client files read, the gateway's token
// read into a Secret (never logged), exactly one credential form. Errors name the key path.

import { resolve } from "node:path";
import { kubernetesConnection, type RawKubernetesConnection } from "./kubernetes-schema.ts";
import type { ProtocolConfig, ProtocolLoadContext } from "./protocol-configs.ts";
import type { Secret } from "./secret.ts";
import type { ProtocolConnectionConfig } from "./types.ts";

/** The protocol's target (protocols/kubernetes/target.ts has the same shape; config imports no protocol). */
export interface KubernetesTargetConfig {
  server: string;
  ca: string;
  token: Secret | null;
  clientCert: string | null;
  clientKey: Secret | null;
  impersonate: boolean;
  timeoutMs: number;
  limits: { policyBody: number; maskBody: number; recordBody: number };
}

export function resolveKubernetesConnection(
  conn: RawKubernetesConnection,
  at: string,
  ctx: ProtocolLoadContext,
): ProtocolConnectionConfig<KubernetesTargetConfig> {
  const t = conn.target;
  const cert = t.client_cert_file !== undefined;
  const key = t.client_key_file !== undefined;
  if (cert !== key) throw ctx.fail(`${at}.target`, "client_cert_file and client_key_file go together");
  if ((t.token_file !== undefined) === cert)
    throw ctx.fail(`${at}.target`, "give exactly one of token_file or client_cert_file + client_key_file");
  const server = t.server.replace(/\/+$/, "");
  const pem = (path: string, key: string): string => {
    const file = resolve(ctx.baseDir, path);
    const text = ctx.readText(file, `${at}.target.${key}`);
    if (!/-----BEGIN CERTIFICATE-----/.test(text))
      throw ctx.fail(`${at}.target.${key}`, `${file} holds no PEM certificate`);
    return text;
  };
  return {
    ...ctx.common(conn, at),
    type: "kubernetes",
    target: {
      server,
      ca: pem(t.ca_file, "ca_file"),
      token: t.token_file !== undefined ? ctx.fromFile(t.token_file, `${at}.target.token_file`) : null,
      clientCert: cert ? pem(t.client_cert_file!, "client_cert_file") : null,
      clientKey: key ? ctx.fromFile(t.client_key_file!, `${at}.target.client_key_file`) : null,
      impersonate: t.impersonate,
      timeoutMs: conn.timeout,
      limits: {
        policyBody: conn.limits.policy_body,
        maskBody: conn.limits.mask_body,
        recordBody: conn.limits.record_body,
      },
    },
    // The account the gateway acts as: its credential's kind, never its value.
    targetAccount: { user: t.token_file !== undefined ? "token" : "client-certificate", database: server },
  };
}

export const kubernetesConfig: ProtocolConfig = {
  type: "kubernetes",
  schema: kubernetesConnection,
  listen: { key: "kubernetes", default: { host: "127.0.0.1", port: 6443 } },
  resolve: resolveKubernetesConnection,
};
