// The shape of `type: http` connections: an upstream URL, the credential Custos injects, TLS towards the
// upstream, a response timeout and the body bounds. Pure, like schema.ts; secrets resolve in http-load.ts.
import { z } from "zod";
import { retention } from "./audit-schema.ts";
import { parseDuration } from "./duration.ts";
import { parseSize } from "./size.ts";

const nonEmpty = z.string().min(1, "must not be empty");
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name");
// RFC 9110 token: what a header field name may hold.
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "expected an HTTP header name");

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === null || ms <= 0) {
    ctx.addIssue({ code: "custom", message: `expected a duration like 500ms, 30s, 15m, 8h, got "${text}"` });
    return z.NEVER;
  }
  return ms;
});

const size = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const bytes = parseSize(value);
  if (bytes === null) {
    ctx.addIssue({
      code: "custom",
      message: `expected a size like 64KiB, 8MiB or a byte count, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return bytes;
});

const targetUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (
      (url.protocol === "http:" || url.protocol === "https:") &&
      !url.search &&
      !url.hash &&
      !url.username &&
      !url.password
    );
  } catch {
    return false;
  }
}, "expected an http:// or https:// URL without query, fragment or credentials");

// One object with every variant's keys, so a mistake is reported at its own key; http-load.ts checks
// that exactly one variant is given and that its secret comes from exactly one of *_env and *_file.
const inject = z.strictObject({
  header: headerName.optional(),
  query: nonEmpty.optional(),
  value_env: envName.optional(),
  value_file: nonEmpty.optional(),
  bearer_env: envName.optional(),
  bearer_file: nonEmpty.optional(),
  basic: z
    .strictObject({ user: nonEmpty, password_env: envName.optional(), password_file: nonEmpty.optional() })
    .optional(),
});

const httpTls = z.strictObject({
  ca_file: nonEmpty.optional(),
  cert_file: nonEmpty.optional(),
  key_file: nonEmpty.optional(),
});

export const httpConnection = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/, "expected 1-63 of A-Z a-z 0-9 _ . -"),
  type: z.literal("http"),
  target: targetUrl,
  inject: inject.optional(),
  tls: httpTls.optional(),
  // Until the upstream's response headers arrive; past it the client gets 504.
  timeout: duration.default(30_000),
  limits: z
    .strictObject({
      // JSON request bodies up to this size are parsed into the policy input.
      policy_body: size.default(64 << 10),
      // JSON responses to mask are buffered up to this size; larger ones are refused (fail closed).
      mask_body: size.default(8 << 20),
      // Recorded bytes of each request and response body.
      record_body: size.default(16 << 10),
    })
    .default({ policy_body: 64 << 10, mask_body: 8 << 20, record_body: 16 << 10 }),
  // Request headers forwarded beyond the standard allow-list (content negotiation, type and length,
  // conditionals, range, user agent). Names that carry credentials, route or spoof are refused here.
  forward_headers: z.array(headerName).default([]),
  // The client's Cookie header reaches the upstream only when this is true.
  forward_cookies: z.boolean().default(false),
  // Honour X-HTTP-Method-Override and friends (and `_method`): the policy then decides the overridden
  // method. When false they are stripped.
  method_override: z.boolean().default(false),
  // Content types (`image/png`, `image/*`) relayed unmasked to masked identities although no masker
  // reads them; the relay is recorded. Others that cannot be masked are refused.
  unmasked_types: z
    .array(
      z.string().regex(/^[a-z0-9!#$&^_.+-]+\/(\*|[a-z0-9!#$&^_.+-]+)$/i, "expected type/subtype or type/*"),
    )
    .default([]),
  allow_groups: z.array(nonEmpty).min(1, "name at least one group"),
  labels: z.array(nonEmpty).default([]),
  idle_timeout: duration.default(15 * 60_000),
  max_session: duration.default(8 * 3_600_000),
  retention: retention.optional(),
});

export type RawHttpConnection = z.output<typeof httpConnection>;
