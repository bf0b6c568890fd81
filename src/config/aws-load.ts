// Resolves a validated `type: aws` connection: the target's access key id and secret from exactly one of
// their *_env / *_file keys, the endpoint the gateway signs for. Errors name the key path like load.ts does.
import type { AwsTarget } from "../protocols/aws/target.ts";
import type { RawAwsConnection } from "./aws-schema.ts";
import type { ProtocolLoadContext } from "./protocol-configs.ts";
import type { Secret } from "./secret.ts";
import type { ProtocolConnectionConfig } from "./types.ts";

export function resolveAwsConnection(
  raw: RawAwsConnection,
  at: string,
  ctx: ProtocolLoadContext,
): ProtocolConnectionConfig<AwsTarget> {
  const t = raw.target;
  const secret = (base: "access_key_id" | "secret_access_key"): Secret => {
    const env = t[`${base}_env`];
    const file = t[`${base}_file`];
    if (env !== undefined && file !== undefined)
      throw ctx.fail(`${at}.target.${base}_file`, `use either ${base}_env or ${base}_file, not both`);
    if (env !== undefined) return ctx.fromEnv(env, `${at}.target.${base}_env`);
    if (file !== undefined) return ctx.fromFile(file, `${at}.target.${base}_file`);
    throw ctx.fail(`${at}.target`, `needs ${base}_env or ${base}_file`);
  };
  const services = [...new Set(raw.services)];
  const endpoint = t.endpoint ? t.endpoint.replace(/\/+$/, "") : null;
  return {
    ...ctx.common(raw, at),
    type: "aws",
    target: {
      region: t.region,
      endpoint,
      accessKeyId: secret("access_key_id"),
      roleArn: t.role_arn ?? null,
      roleDurationSeconds: Math.floor(t.role_duration / 1000),
      secretAccessKey: secret("secret_access_key"),
      services,
      virtualHostBase: raw.virtual_host_base ?? null,
      credentialTtlMs: raw.credential_ttl,
      clockSkewMs: raw.clock_skew,
      unmaskedTypes: raw.unmasked_types.map((x) => x.toLowerCase()),
      limits: {
        requestBody: raw.limits.request_body,
        policyBody: raw.limits.policy_body,
        maskBody: raw.limits.mask_body,
        recordBody: raw.limits.record_body,
      },
    },
    // The account Custos acts as upstream: the region and endpoint (the key id is a credential).
    targetAccount: { user: "aws", database: endpoint ?? `aws:${t.region}` },
  };
}
