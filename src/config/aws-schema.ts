// The shape of `type: aws` connections: the region and endpoint Custos signs for, the target credentials
// (from the environment or files, never inline), the services callers may use, and the bounds on bodies.
// Pure, like schema.ts; secrets resolve in aws-load.ts.
import { z } from "zod";
import { commonConnectionKeys, duration, envName, nonEmpty, size } from "./connection-keys.ts";

const endpointUrl = z.string().refine((text) => {
  const url = URL.parse(text);
  return (
    url !== null &&
    (url.protocol === "http:" || url.protocol === "https:") &&
    (url.pathname === "/" || url.pathname === "") &&
    !url.search &&
    !url.hash &&
    !url.username &&
    !url.password
  );
}, "expected an http:// or https:// origin without path, query or credentials");

const awsTarget = z.strictObject({
  region: z.string().regex(/^[a-z0-9-]{1,32}$/, "expected a region name like us-east-1"),
  // An S3-compatible or regional endpoint in place of https://<service>.<region>.amazonaws.com.
  endpoint: endpointUrl.optional(),
  access_key_id_env: envName.optional(),
  access_key_id_file: nonEmpty.optional(),
  secret_access_key_env: envName.optional(),
  secret_access_key_file: nonEmpty.optional(),
  // Upstream calls are signed with this role's temporary credentials (sts:AssumeRole, signed with the key
  // above, SourceIdentity = the caller's subject) instead of with the key itself.
  role_arn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
      "expected arn:aws:iam::<account>:role/<name>",
    )
    .optional(),
  // DurationSeconds of each AssumeRole (STS allows 900 s to the role's maximum, at most 12 h).
  role_duration: duration
    .refine((ms) => ms >= 900_000 && ms <= 43_200_000, "expected between 15m and 12h")
    .default(3_600_000),
});

export const awsServiceName = z.string().regex(/^[a-z0-9-]{1,32}$/, "expected a service name like s3");

export const awsConnection = z.strictObject({
  type: z.literal("aws"),
  ...commonConnectionKeys,
  target: awsTarget,
  // Services callers may sign for; any other is refused before a decision.
  services: z.array(awsServiceName).min(1, "name at least one service"),
  // S3 virtual-hosted addressing: a call whose Host is `<bucket>.<virtual_host_base>` (any port) addresses
  // that bucket on this connection (the base needs a wildcard DNS name pointing at the gateway).
  virtual_host_base: z
    .string()
    .regex(
      /^(?=.{1,200}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/,
      "expected a host name",
    )
    .optional(),
  // Lifetime of the credentials `custos aws credentials` mints (capped by the caller's token expiry).
  credential_ttl: duration.default(3_600_000),
  // How far a caller's X-Amz-Date may be from the gateway's clock (SigV4 allows 15 minutes; less is safer).
  clock_skew: duration.default(5 * 60_000),
  // Object content types (`image/png`, `image/*`) relayed unmasked to masked identities; other types no
  // masker reads are refused to them.
  unmasked_types: z
    .array(
      z.string().regex(/^[a-z0-9!#$&^_.+-]+\/(\*|[a-z0-9!#$&^_.+-]+)$/i, "expected type/subtype or type/*"),
    )
    .default([]),
  limits: z
    .strictObject({
      // Non-streaming request bodies (JSON and query protocols, S3 XML documents) are read whole up to this.
      request_body: size.default(8 << 20),
      // Parameters up to this size are parsed into the policy input.
      policy_body: size.default(64 << 10),
      // JSON and XML responses to mask are read whole up to this; larger ones are refused (fail closed).
      mask_body: size.default(8 << 20),
      // Recorded bytes of each request and response body.
      record_body: size.default(16 << 10),
    })
    .default({ request_body: 8 << 20, policy_body: 64 << 10, mask_body: 8 << 20, record_body: 16 << 10 }),
});

export type RawAwsConnection = z.output<typeof awsConnection>;
