// A resolved `type: aws` connection's target (config/aws-load.ts): where and as whom the gateway signs.
import type { Secret } from "../../config/secret.ts";

export interface AwsTarget {
  region: string;
  /** Origin that serves every service (an S3-compatible server, a local emulator), or null for AWS's own. */
  endpoint: string | null;
  accessKeyId: Secret;
  secretAccessKey: Secret;
  /** Role assumed per session (its temporary credentials sign upstream calls), or null to sign with the key. */
  roleArn: string | null;
  roleDurationSeconds: number;
  services: string[];
  /** S3 calls to `<bucket>.<this>` address that bucket (virtual-hosted); null: path-style only. */
  virtualHostBase: string | null;
  credentialTtlMs: number;
  clockSkewMs: number;
  unmaskedTypes: string[];
  limits: { requestBody: number; policyBody: number; maskBody: number; recordBody: number };
}

/** The origin requests for `service` go to. */
export function upstreamOrigin(target: AwsTarget, service: string): string {
  if (target.endpoint !== null) return target.endpoint;
  if (service === "iam" || service === "sts") return `https://${service}.amazonaws.com`;
  return `https://${service}.${target.region}.amazonaws.com`;
}
