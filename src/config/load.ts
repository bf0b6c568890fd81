// Reads the YAML config, validates it (one clear line naming the key path on any error), resolves
// relative paths against the file's directory and `*_env` / `*_file` secrets into Secret values.
// The only module that reads the environment and secret files.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import { CustosError } from "../core/errors.ts";
import type { RawCommonConnection } from "./connection-keys.ts";
import { type HttpLoadContext, resolveHttpConnection } from "./http-load.ts";
import type { HostPort } from "./listen-address.ts";
import { type ProtocolLoadContext, protocolConfigs } from "./protocol-configs.ts";
import { type RawConfig, rawConfigSchema } from "./schema.ts";
import { Secret } from "./secret.ts";
import { resolveSiem } from "./siem-schema.ts";
import type {
  AccessConfig,
  AnchorConfig,
  AuditStoreConfig,
  Config,
  ConnectionConfig,
  ConsoleConfig,
  HttpConnectionConfig,
  PostgresTarget,
  ProtocolConnectionConfig,
  RetentionConfig,
} from "./types.ts";

type Env = Record<string, string | undefined>;

export interface LoadOptions {
  /**
   * False for read-only tools (sessions, audit verify) that never reach a target: the secrets of
   * connections, webhooks, masking and the console are checked for shape only, and reading one throws.
   * The audit store's own secret is always resolved.
   */
  secrets?: boolean;
}

export function loadConfig(path: string, env: Env = process.env, opts: LoadOptions = {}): Config {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw fail(file, null, `cannot read the config file (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  let raw: unknown;
  try {
    // uniqueKeys (the default) makes a repeated key an error rather than a silent override.
    raw = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const pos = (err as { linePos?: [{ line: number; col: number }] }).linePos?.[0];
    const first = String((err as Error).message).split("\n")[0];
    throw fail(file, pos ? `line ${pos.line}, column ${pos.col}` : null, first ?? "invalid YAML");
  }
  return build(raw ?? {}, dirname(file), env, file, sha256(text), opts.secrets ?? true);
}

/** Validates a config given as an object (tests, the demo). Relative paths resolve against baseDir. */
export function parseConfig(input: unknown, baseDir: string, env: Env = process.env): Config {
  return build(input, resolve(baseDir), env, null, sha256(JSON.stringify(input) ?? ""));
}

function build(
  input: unknown,
  baseDir: string,
  env: Env,
  source: string | null,
  configHash: string,
  secrets = true,
): Config {
  const where = source ?? "config";
  const parsed = rawConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const { path, problem } = describeIssue(issue);
    throw fail(where, path, problem);
  }
  return resolveConfig(parsed.data, { baseDir, env, where, source, configHash, secrets });
}

interface Ctx {
  baseDir: string;
  env: Env;
  where: string;
  source: string | null;
  configHash: string;
  /** See LoadOptions.secrets. */
  secrets: boolean;
}

function resolveConfig(raw: RawConfig, ctx: Ctx): Config {
  const dataDir = resolve(ctx.baseDir, raw.data_dir);
  const seenIssuers = new Set<string>();
  raw.identity.issuers.forEach((iss, i) => {
    if (seenIssuers.has(iss.issuer)) {
      throw fail(ctx.where, `identity.issuers[${i}].issuer`, `duplicate issuer "${iss.issuer}"`);
    }
    seenIssuers.add(iss.issuer);
  });
  const seenNames = new Map<string, number>();
  const connections: ConnectionConfig[] = [];
  const httpConnections: HttpConnectionConfig[] = [];
  const protocolConnections: ProtocolConnectionConfig[] = [];
  raw.connections.forEach((conn, i) => {
    const earlier = seenNames.get(conn.name);
    if (earlier !== undefined) {
      throw fail(
        ctx.where,
        `connections[${i}].name`,
        `duplicate connection name "${conn.name}" (also connections[${earlier}])`,
      );
    }
    seenNames.set(conn.name, i);
    const registered = protocolConfigs.find((p) => p.type === (conn.type as string));
    if (registered) {
      protocolConnections.push(registered.resolve(conn, `connections[${i}]`, protocolContext(ctx)));
      return;
    }
    if (conn.type === "http") {
      httpConnections.push(resolveHttpConnection(conn, `connections[${i}]`, httpContext(ctx)));
      return;
    }
    connections.push({
      name: conn.name,
      type: conn.type,
      target: resolveTarget(conn.target, `connections[${i}].target`, ctx),
      allowGroups: conn.allow_groups,
      labels: conn.labels,
      tableLabels: conn.table_labels,
      columnLabels: conn.column_labels,
      classification: {
        scan: conn.classification.scan,
        intervalMs: conn.classification.interval,
        sampleRows: conn.classification.sample_rows,
        maxTables: conn.classification.max_tables,
      },
      idleTimeoutMs: conn.idle_timeout,
      maxSessionMs: conn.max_session,
      maxSessionsPerIdentity: conn.max_sessions_per_identity,
      retention: resolveRetention(conn.retention),
      access: resolveAccess(conn, `connections[${i}]`, ctx),
    });
  });
  return {
    source: ctx.source,
    configHash: ctx.configHash,
    listen: {
      postgres: raw.listen.postgres,
      http: raw.listen.http,
      publicUrl: raw.listen.public_url ?? null,
      protocols: protocolListeners(raw.listen),
      workers: raw.listen.workers ?? Math.min(64, availableParallelism()),
    },
    dataDir,
    identity: {
      issuers: raw.identity.issuers.map((iss) => ({
        issuer: iss.issuer,
        audience: iss.audience,
        groupsClaim: iss.groups_claim,
      })),
      agentGroups: raw.identity.agent_groups,
      maxTokenLifetimeMs: raw.identity.max_token_lifetime,
      gatewayTokens: { maxTtlMs: raw.identity.gateway_tokens.max_ttl },
    },
    connections,
    httpConnections,
    protocolConnections,
    limits: {
      maxSessions: raw.limits.max_sessions,
      maxMessage: raw.limits.max_message,
      maxMaskedServerMessage: raw.limits.max_masked_server_message,
      authTimeoutMs: raw.limits.auth_timeout,
      agentStatementTimeoutMs: raw.limits.agent_statement_timeout,
      agentIdleInTransactionTimeoutMs: raw.limits.agent_idle_in_transaction_timeout,
    },
    audit: {
      store: resolveStore(raw.audit, dataDir, ctx),
      sync: raw.audit.sync,
      anchors: resolveAnchors(raw.audit.anchors, ctx),
      retention: resolveRetention(raw.audit.retention) ?? { eventsMs: null, recordingsMs: null },
      maxSizeBytes: raw.audit.max_size ?? null,
      pruneIntervalMs: raw.audit.prune_interval,
    },
    policy: {
      bundle: raw.policy.bundle === undefined ? null : resolve(ctx.baseDir, raw.policy.bundle),
      watch: raw.policy.watch,
    },
    masking: { hmacKey: resolveMaskingKey(raw.masking, ctx), detectors: raw.masking.detectors },
    approvals: { webhook: resolveWebhook(raw.approvals, ctx) },
    console: resolveConsole(raw, ctx),
    tls: raw.tls
      ? { certFile: resolve(ctx.baseDir, raw.tls.cert_file), keyFile: resolve(ctx.baseDir, raw.tls.key_file) }
      : null,
    siem: resolveSiem(raw.siem, httpContext(ctx)),
    log: raw.log,
  };
}

/** What http-load.ts needs from this module: secret and file readers that fail naming the key path. */
function httpContext(ctx: Ctx): HttpLoadContext {
  return {
    baseDir: ctx.baseDir,
    fromEnv: (name, at) => secretFromEnv(name, at, ctx),
    fromFile: (path, at) => secretFromFile(path, at, ctx),
    readText: (file, at) => readText(file, at, ctx),
    fail: (path, problem) => fail(ctx.where, path, problem),
  };
}

function resolveTarget(
  t: Extract<RawConfig["connections"][number], { type: "postgres" }>["target"],
  at: string,
  ctx: Ctx,
): PostgresTarget {
  if (t.password_env !== undefined && t.password_file !== undefined) {
    throw fail(ctx.where, `${at}.password_file`, "use either password_env or password_file, not both");
  }
  let password: Secret | null = null;
  if (t.password_env !== undefined) password = secretFromEnv(t.password_env, `${at}.password_env`, ctx);
  if (t.password_file !== undefined) password = secretFromFile(t.password_file, `${at}.password_file`, ctx);
  let caFile: string | null = null;
  let ca: string | null = null;
  if (t.ca_file !== undefined) {
    if (t.tls === "disable")
      throw fail(ctx.where, `${at}.ca_file`, "ca_file needs tls prefer, require or verify-full");
    caFile = resolve(ctx.baseDir, t.ca_file);
    ca = readText(caFile, `${at}.ca_file`, ctx);
    if (!ca.includes("-----BEGIN CERTIFICATE-----")) {
      throw fail(ctx.where, `${at}.ca_file`, `${caFile} holds no PEM certificate`);
    }
  }
  return { host: t.host, port: t.port, database: t.database, user: t.user, password, tls: t.tls, caFile, ca };
}

function protocolListeners(listen: RawConfig["listen"]): Record<string, HostPort> {
  const given = listen as unknown as Record<string, HostPort | undefined>;
  const out: Record<string, HostPort> = {};
  for (const p of protocolConfigs) if (p.listen) out[p.type] = given[p.listen.key] ?? p.listen.default;
  return out;
}

function protocolContext(ctx: Ctx): ProtocolLoadContext {
  return {
    ...httpContext(ctx),
    common: (c, at) => ({
      name: c.name,
      allowGroups: c.allow_groups,
      labels: c.labels,
      idleTimeoutMs: c.idle_timeout,
      maxSessionMs: c.max_session,
      maxSessionsPerIdentity: c.max_sessions_per_identity,
      retention: resolveRetention(c.retention),
      access: resolveAccess(c, at, ctx),
    }),
  };
}

function resolveAccess(c: RawCommonConnection, at: string, ctx: Ctx): AccessConfig {
  // A connection nobody can approve for would refuse every session; say so at start instead.
  if (c.access === "request" && c.approvers.length === 0) {
    throw fail(ctx.where, `${at}.approvers`, "access: request needs at least one approver group");
  }
  return {
    mode: c.access,
    approvers: c.approvers,
    minApprovals: c.min_approvals,
    maxDurationMs: c.max_duration,
    reviewTimeoutMs: c.review_timeout,
  };
}

function resolveWebhook(a: RawConfig["approvals"], ctx: Ctx): { url: string; secret: Secret } | null {
  const w = a.webhook;
  if (!w) return null;
  if (w.secret_env !== undefined && w.secret_file !== undefined) {
    throw fail(ctx.where, "approvals.webhook.secret_file", "use either secret_env or secret_file, not both");
  }
  if (w.secret_env === undefined && w.secret_file === undefined) {
    throw fail(ctx.where, "approvals.webhook", "needs secret_env or secret_file (the HMAC signing key)");
  }
  const secret =
    w.secret_env !== undefined
      ? secretFromEnv(w.secret_env, "approvals.webhook.secret_env", ctx)
      : secretFromFile(w.secret_file!, "approvals.webhook.secret_file", ctx);
  return { url: w.url, secret };
}

function resolveConsole(raw: RawConfig, ctx: Ctx): ConsoleConfig {
  const o = raw.console.oidc;
  if (!o) return { roles: raw.console.roles, sessionTtlMs: raw.console.session_ttl, oidc: null };
  // Sign-in must end in a token the gateway already trusts, so the console's issuer is one of identity.issuers.
  if (!raw.identity.issuers.some((i) => i.issuer === o.issuer)) {
    throw fail(ctx.where, "console.oidc.issuer", `"${o.issuer}" is not one of identity.issuers`);
  }
  if (o.client_secret_env !== undefined && o.client_secret_file !== undefined) {
    throw fail(
      ctx.where,
      "console.oidc.client_secret_file",
      "use either client_secret_env or client_secret_file, not both",
    );
  }
  const clientSecret =
    o.client_secret_env !== undefined
      ? secretFromEnv(o.client_secret_env, "console.oidc.client_secret_env", ctx)
      : o.client_secret_file !== undefined
        ? secretFromFile(o.client_secret_file, "console.oidc.client_secret_file", ctx)
        : null;
  return {
    roles: raw.console.roles,
    sessionTtlMs: raw.console.session_ttl,
    oidc: {
      issuer: o.issuer,
      clientId: o.client_id,
      clientSecret,
      redirectUrl: o.redirect_url ?? null,
      scopes: o.scopes.includes("openid") ? o.scopes : ["openid", ...o.scopes],
    },
  };
}

export function resolveRetention(
  r: { events?: number; recordings?: number } | undefined,
): RetentionConfig | null {
  if (!r) return null;
  return { eventsMs: r.events ?? null, recordingsMs: r.recordings ?? null };
}

function resolveAnchors(list: RawConfig["audit"]["anchors"], ctx: Ctx): AnchorConfig[] {
  const names = new Set<string>();
  return list.map((a, i): AnchorConfig => {
    const at = `audit.anchors[${i}]`;
    const name = a.name ?? `${a.type}${i}`;
    if (names.has(name)) throw fail(ctx.where, `${at}.name`, `duplicate anchor name "${name}"`);
    names.add(name);
    if (a.type === "file") return { type: "file", name, path: resolve(ctx.baseDir, a.path) };
    if (a.secret_env !== undefined && a.secret_file !== undefined) {
      throw fail(ctx.where, `${at}.secret_file`, "use either secret_env or secret_file, not both");
    }
    // Read-only tools (verify, sessions) never publish: the secret is not needed there.
    const secret =
      a.secret_env !== undefined
        ? ctx.secrets
          ? secretFromEnv(a.secret_env, `${at}.secret_env`, ctx)
          : Secret.unresolved(`${at}.secret_env`)
        : a.secret_file !== undefined
          ? ctx.secrets
            ? secretFromFile(a.secret_file, `${at}.secret_file`, ctx)
            : Secret.unresolved(`${at}.secret_file`)
          : null;
    return { type: "http", name, url: a.url, secret, auth: a.auth };
  });
}

function resolveStore(a: RawConfig["audit"], dataDir: string, ctx: Ctx): AuditStoreConfig {
  const given = (["store", "store_env", "store_file"] as const).filter((k) => a[k] !== undefined);
  if (given.length > 1) throw fail(ctx.where, `audit.${given[1]}`, `use only one of ${given.join(", ")}`);
  const key = given[0];
  if (key === undefined) return { kind: "embedded", path: resolve(dataDir, "audit.db") };
  const at = `audit.${key}`;
  const value =
    key === "store"
      ? a.store!
      : key === "store_env"
        ? secretFromEnv(a.store_env!, at, ctx).reveal()
        : secretFromFile(a.store_file!, at, ctx).reveal();
  if (value.startsWith("sqlite:")) {
    const path = value.slice("sqlite:".length);
    if (!path) throw fail(ctx.where, at, "sqlite: needs a path, e.g. sqlite:./data/audit.db");
    return { kind: "embedded", path: resolve(ctx.baseDir, path) };
  }
  if (/^postgres(ql)?:\/\//.test(value)) {
    try {
      new URL(value);
    } catch {
      // The URL may hold a password: say what is wrong without echoing it.
      throw fail(ctx.where, at, "the postgres:// URL does not parse");
    }
    return { kind: "postgres", url: new Secret(value) };
  }
  throw fail(ctx.where, at, "expected sqlite:<path> or postgres://user:pass@host:port/db");
}

function secretFromEnv(name: string, at: string, ctx: Ctx): Secret {
  if (!ctx.secrets && !at.startsWith("audit.")) return Secret.unresolved(at);
  const value = ctx.env[name];
  if (value === undefined) throw fail(ctx.where, at, `environment variable ${name} is not set`);
  if (value === "") throw fail(ctx.where, at, `environment variable ${name} is empty`);
  return new Secret(value);
}

function secretFromFile(path: string, at: string, ctx: Ctx): Secret {
  if (!ctx.secrets && !at.startsWith("audit.")) return Secret.unresolved(at);
  const file = resolve(ctx.baseDir, path);
  // One trailing newline is an editor artefact, not part of the secret.
  const value = readText(file, at, ctx).replace(/\r?\n$/, "");
  if (value === "") throw fail(ctx.where, at, `${file} is empty`);
  return new Secret(value);
}

function readText(file: string, at: string, ctx: Ctx): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw fail(ctx.where, at, `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

function describeIssue(issue: z.core.$ZodIssue): { path: string; problem: string } {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case "unrecognized_keys": {
      const key = issue.keys[0]!;
      const at = formatPath([...issue.path, key]);
      const hint = key === "password" ? `; secrets come from ${key}_env or ${key}_file` : "";
      return { path: at, problem: `unknown key${hint}` };
    }
    case "invalid_type":
      if (/received undefined$/.test(issue.message)) return { path, problem: "is required" };
      return { path, problem: `expected ${issue.expected}, got ${describeReceived(issue.message)}` };
    case "invalid_key":
      return { path, problem: issue.issues[0]?.message ?? issue.message };
    case "invalid_value":
      return { path, problem: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}` };
    default:
      return { path, problem: issue.message };
  }
}

function describeReceived(message: string): string {
  return /received (\w+)$/.exec(message)?.[1] ?? "something else";
}

function formatPath(path: PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || "(top level)";
}

function fail(where: string, path: string | null, problem: string): CustosError {
  const message = path ? `${where}: ${path}: ${problem}` : `${where}: ${problem}`;
  return new CustosError("config.invalid", message, { source: where, path, problem });
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function resolveMaskingKey(m: RawConfig["masking"], ctx: Ctx): Secret | null {
  if (m.hmac_key_env !== undefined && m.hmac_key_file !== undefined) {
    throw fail(ctx.where, "masking.hmac_key_file", "use either hmac_key_env or hmac_key_file, not both");
  }
  if (m.hmac_key_env !== undefined) return secretFromEnv(m.hmac_key_env, "masking.hmac_key_env", ctx);
  if (m.hmac_key_file !== undefined) return secretFromFile(m.hmac_key_file, "masking.hmac_key_file", ctx);
  return null;
}
