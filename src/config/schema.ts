// The configuration file's shape (the public contract of key names), validated with zod. Pure: no env,
// no files. Durations and listen addresses are converted here; secrets and paths are resolved in load.ts.
import { z } from "zod";
import { auditExtras, retention } from "./audit-schema.ts";
import {
  accessKeys,
  connectionName,
  duration,
  envName,
  listenAddress,
  nonEmpty,
  size,
} from "./connection-keys.ts";
import { httpConnection } from "./http-schema.ts";
import { protocolConnectionSchemas } from "./protocol-configs.ts";
import { siemSection } from "./siem-schema.ts";

// Where people reach the gateway, for the links it hands out (approval hints, webhooks): the listen
// address is often a wildcard or a pod address nobody outside can use. Normalized without trailing slash.
const publicUrl = z.string().transform((text, ctx) => {
  const url = URL.parse(text);
  const problem = publicUrlProblem(text, url);
  if (problem !== null || url === null) {
    ctx.addIssue({ code: "custom", message: problem ?? `expected an absolute URL, got "${text}"` });
    return z.NEVER;
  }
  return url.href.replace(/\/+$/, "");
});

function publicUrlProblem(text: string, url: URL | null): string | null {
  if (url === null || !/^https?:\/\/[^/]/i.test(text))
    return `expected an absolute http:// or https:// URL, got "${text}"`;
  // Not echoed: the message goes to logs.
  if (url.username || url.password) return "must not hold credentials";
  // A bare "?" or "#" leaves search and hash empty, hence the text check.
  if (/[?#]/.test(text)) return `must not have a query or fragment, got "${text}"`;
  return null;
}

// OIDC issuers must be HTTPS; plain HTTP only on loopback (tests, the demo's local IdP).
const issuerUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    if (url.search || url.hash) return false;
    if (url.protocol === "https:") return true;
    return url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  } catch {
    return false;
  }
}, "expected an https:// URL without query (http:// only on loopback)");

const issuer = z.strictObject({
  issuer: issuerUrl,
  audience: nonEmpty,
  groups_claim: nonEmpty.default("groups"),
});

const identity = z.strictObject({
  issuers: z.array(issuer).default([]),
  agent_groups: z.array(nonEmpty).default([]),
  max_token_lifetime: duration.default(24 * 3_600_000),
  gateway_tokens: z
    .strictObject({ max_ttl: duration.default(24 * 3_600_000) })
    .default({ max_ttl: 24 * 3_600_000 }),
});

const postgresTarget = z.strictObject({
  host: nonEmpty,
  port: z.number().int().min(1).max(65535).default(5432),
  database: nonEmpty,
  user: nonEmpty,
  password_env: envName.optional(),
  password_file: nonEmpty.optional(),
  tls: z.enum(["disable", "prefer", "require", "verify-full"]).default("prefer"),
  ca_file: nonEmpty.optional(),
});

const postgresConnection = z.strictObject({
  name: connectionName,
  type: z.literal("postgres"),
  target: postgresTarget,
  allow_groups: z.array(nonEmpty).min(1, "name at least one group"),
  labels: z.array(nonEmpty).default([]),
  table_labels: z
    .record(z.string().regex(/^[^.\s]+\.[^.\s]+$/, "expected schema.table"), z.array(nonEmpty))
    .default({}),
  // Columns known to hold regulated data, by `schema.table.column` (classes: ssn, card, iban, email,
  // phone, or a custom detector's name): masked and refused for agents whatever a statement calls them.
  column_labels: z
    .record(
      z.string().regex(/^[^.\s]+\.[^.\s]+\.[^.\s]+$/, "expected schema.table.column"),
      z.array(nonEmpty).min(1, "name at least one class"),
    )
    .default({}),
  // The classification scan: samples each readable table with the detectors, at start and every interval.
  classification: z
    .strictObject({
      scan: z.boolean().default(true),
      interval: duration.default(6 * 3_600_000),
      sample_rows: z.number().int().min(1).max(10_000).default(200),
      max_tables: z.number().int().min(1).max(100_000).default(500),
    })
    .default({ scan: true, interval: 6 * 3_600_000, sample_rows: 200, max_tables: 500 }),
  idle_timeout: duration.default(15 * 60_000),
  max_session: duration.default(8 * 3_600_000),
  // Live sessions one identity may hold on this connection; beyond, 53300 before the upstream is dialed.
  max_sessions_per_identity: z.number().int().min(1).default(20),
  retention: retention.optional(),
  ...accessKeys,
});

const builtInConnection = z.discriminatedUnion("type", [postgresConnection, httpConnection]);
// Connection types of registered protocols (protocol-configs.ts) join the union for validation. Their
// entries are typed as the built-in ones here only so that `type` narrows the built-ins in load.ts, which
// hands a registered type to its own resolver before narrowing.
const connection = z.discriminatedUnion("type", [
  postgresConnection,
  httpConnection,
  ...protocolConnectionSchemas,
]) as unknown as typeof builtInConnection;

// Bounded cost for every input (ENFORCEMENT.md 7) and agents' time-outs upstream.
const limitDefaults = {
  max_sessions: 500,
  max_message: 1 << 30,
  max_masked_server_message: 64 << 20,
  auth_timeout: 30_000,
  agent_statement_timeout: 5 * 60_000,
  agent_idle_in_transaction_timeout: 60_000,
};
const limits = z.strictObject({
  max_sessions: z.number().int().min(1).default(limitDefaults.max_sessions),
  max_message: size.default(limitDefaults.max_message),
  max_masked_server_message: size.default(limitDefaults.max_masked_server_message),
  auth_timeout: duration.default(limitDefaults.auth_timeout),
  agent_statement_timeout: duration.default(limitDefaults.agent_statement_timeout),
  agent_idle_in_transaction_timeout: duration.default(limitDefaults.agent_idle_in_transaction_timeout),
});

const audit = z.strictObject({
  store: nonEmpty.optional(),
  store_env: envName.optional(),
  store_file: nonEmpty.optional(),
  sync: z.enum(["writes", "all", "none"]).default("writes"),
  ...auditExtras,
});

const policy = z.strictObject({
  // A bundle built by `custos policy build`; relative to the config file. Absent: the shipped default pack.
  bundle: nonEmpty.optional(),
  // Reload when the bundle file changes (SIGHUP always reloads).
  watch: z.boolean().default(true),
});

// Masking of result streams (masking issue): the key behind the `hash` method, and the operator's own
// detectors next to the built-in ones (card, ssn, iban, email, phone).
const masking = z.strictObject({
  hmac_key_env: envName.optional(),
  hmac_key_file: nonEmpty.optional(),
  detectors: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, "expected a lower-case name like employee_id"),
        pattern: nonEmpty,
        method: z.enum(["redact", "partial", "hash", "null"]).default("redact"),
      }),
    )
    .default([]),
});

// Webhook URLs must be HTTPS; plain HTTP only on loopback (tests, a local relay).
const webhookUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    if (url.protocol === "https:") return true;
    return url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  } catch {
    return false;
  }
}, "expected an https:// URL (http:// only on loopback)");

const approvals = z.strictObject({
  webhook: z
    .strictObject({ url: webhookUrl, secret_env: envName.optional(), secret_file: nonEmpty.optional() })
    .optional(),
});

// The admin API and web console (console issue): roles from groups, and the OIDC client the console signs
// people in with (authorization code + PKCE against one of the trusted issuers).
const consoleSection = z.strictObject({
  roles: z
    .strictObject({
      admin: z.array(nonEmpty).default([]),
      approver: z.array(nonEmpty).default([]),
      auditor: z.array(nonEmpty).default([]),
    })
    .default({ admin: [], approver: [], auditor: [] }),
  oidc: z
    .strictObject({
      issuer: issuerUrl,
      client_id: nonEmpty,
      client_secret_env: envName.optional(),
      client_secret_file: nonEmpty.optional(),
      redirect_url: z.url({ protocol: /^https?$/ }).optional(),
      scopes: z.array(nonEmpty).default(["openid"]),
    })
    .optional(),
  // How long a console sign-in lasts, whatever the lifetime of the token or link it began with.
  session_ttl: duration.default(8 * 3_600_000),
});

export const rawConfigSchema = z.strictObject({
  listen: z
    .strictObject({
      postgres: listenAddress.default({ host: "127.0.0.1", port: 15432 }),
      http: listenAddress.default({ host: "127.0.0.1", port: 8080 }),
      kubernetes: listenAddress.optional(),
      aws: listenAddress.optional(),
      mysql: listenAddress.optional(),
      public_url: publicUrl.optional(),
      ssh: listenAddress.optional(),
      // Worker processes sharing every listener (SO_REUSEPORT, Linux); default: one per CPU. 1 is a single
      // process. At most 64: the worker id travels in 6 bits of the PostgreSQL cancel key (workers/).
      workers: z.number().int().min(1).max(64).optional(),
    })
    .default({ postgres: { host: "127.0.0.1", port: 15432 }, http: { host: "127.0.0.1", port: 8080 } }),
  data_dir: nonEmpty.default("./data"),
  identity: identity.default({
    issuers: [],
    agent_groups: [],
    max_token_lifetime: 24 * 3_600_000,
    gateway_tokens: { max_ttl: 24 * 3_600_000 },
  }),
  connections: z.array(connection).default([]),
  limits: limits.default(limitDefaults),
  audit: audit.default({ sync: "writes", anchors: [], retention: {}, prune_interval: 3_600_000 }),
  policy: policy.default({ watch: true }),
  masking: masking.default({ detectors: [] }),
  approvals: approvals.default({}),
  console: consoleSection.default({
    roles: { admin: [], approver: [], auditor: [] },
    session_ttl: 8 * 3_600_000,
  }),
  tls: z.strictObject({ cert_file: nonEmpty, key_file: nonEmpty }).optional(),
  siem: siemSection,
  log: z
    .strictObject({ level: z.enum(["debug", "info", "warn", "error"]).default("info") })
    .default({ level: "info" }),
});

export type RawConfig = z.output<typeof rawConfigSchema>;
