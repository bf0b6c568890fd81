// The resolved configuration the rest of the gateway receives: camelCase, absolute paths, milliseconds,
// secrets wrapped in Secret.
import type { LogLevel } from "../core/log.ts";
import type { HostPort } from "./listen-address.ts";
import type { Secret } from "./secret.ts";
import type { SiemSinkConfig } from "./siem-schema.ts";

export type { HostPort } from "./listen-address.ts";

export interface IssuerConfig {
  issuer: string;
  audience: string;
  groupsClaim: string;
}

export type TargetTls = "disable" | "prefer" | "require" | "verify-full";

export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Null when the upstream role needs no password (trust). */
  password: Secret | null;
  tls: TargetTls;
  /** Absolute path of ca_file, and its PEM text read at load time. */
  caFile: string | null;
  ca: string | null;
}

export interface ConnectionConfig {
  name: string;
  type: "postgres";
  target: PostgresTarget;
  allowGroups: string[];
  labels: string[];
  /** "schema.table" to labels, e.g. {"public.accounts": ["regulated"]}. */
  tableLabels: Record<string, string[]>;
  /** "schema.table.column" to the classes it holds, e.g. {"public.customers.tin": ["ssn"]}. */
  columnLabels: Record<string, string[]>;
  /** The classification scan of this connection's tables. */
  classification: { scan: boolean; intervalMs: number; sampleRows: number; maxTables: number };
  idleTimeoutMs: number;
  maxSessionMs: number;
  maxSessionsPerIdentity: number;
  /** Overrides audit.retention for this connection's sessions; null keeps the default. */
  retention: RetentionConfig | null;
  access: AccessConfig;
}

/** How long event bodies and recording payloads are kept; null: for ever. */
export interface RetentionConfig {
  eventsMs: number | null;
  recordingsMs: number | null;
}

/** Where each signed checkpoint and the public key are published (audit/anchors/). */
export type AnchorConfig =
  | { type: "file"; name: string; path: string }
  | { type: "http"; name: string; url: string; secret: Secret | null; auth: "hmac" | "bearer" };

export interface AuditConfig {
  store: AuditStoreConfig;
  sync: "writes" | "all" | "none";
  anchors: AnchorConfig[];
  retention: RetentionConfig;
  /** Bytes; past 90% a metric and /healthz warn. Null: no limit configured. */
  maxSizeBytes: number | null;
  pruneIntervalMs: number;
}

/** Just-in-time access and statement review for one connection. */
export interface AccessConfig {
  /** standing: allow_groups admits; request: allow_groups may ask, only a live grant admits. */
  mode: "standing" | "request";
  /** Groups whose members may approve requests and statements on this connection. */
  approvers: string[];
  minApprovals: number;
  /** Longest grant an access request may ask for. */
  maxDurationMs: number;
  /** How long a statement under review waits for its approvals. */
  reviewTimeoutMs: number;
}

/** What Custos adds to every request to an HTTP upstream; the client never sees it. */
export type HttpInject =
  | { kind: "header"; name: string; value: Secret }
  | { kind: "query"; name: string; value: Secret }
  | { kind: "bearer"; token: Secret }
  | { kind: "basic"; user: string; password: Secret };

export interface HttpConnectionConfig {
  name: string;
  type: "http";
  /** Upstream base URL (http or https, maybe with a path prefix), without trailing slash. */
  target: string;
  inject: HttpInject | null;
  /** PEM text read at load time; null uses the system roots / no client certificate. */
  tls: { ca: string | null; cert: string | null; key: Secret | null };
  /** Until the upstream's response headers arrive. */
  timeoutMs: number;
  limits: { policyBody: number; maskBody: number; recordBody: number };
  /** What of the client's request may reach the upstream, and what may return unmasked. */
  relay: {
    forwardHeaders: string[];
    forwardCookies: boolean;
    methodOverride: boolean;
    unmaskedTypes: string[];
  };
  allowGroups: string[];
  labels: string[];
  idleTimeoutMs: number;
  maxSessionMs: number;
  retention: RetentionConfig | null;
}

/** What every connection resolves to, whatever its protocol (connection-keys.ts's common keys). */
export interface CommonConnectionConfig {
  name: string;
  allowGroups: string[];
  labels: string[];
  idleTimeoutMs: number;
  maxSessionMs: number;
  maxSessionsPerIdentity: number;
  retention: RetentionConfig | null;
  access: AccessConfig;
}

/** A connection of a registered protocol (config/protocol-configs.ts); `target` is the protocol's own. */
export interface ProtocolConnectionConfig<Target = unknown> extends CommonConnectionConfig {
  type: string;
  /** Holds the upstream's secrets (as Secret values): never logged or recorded. */
  target: Target;
  /** The account Custos acts as upstream, recorded in session.start (F1). Never a secret. */
  targetAccount: { user: string; database: string };
}

export interface LimitsConfig {
  /** Live sessions across every connection and protocol. */
  maxSessions: number;
  /** Largest PostgreSQL client message after authentication (before it: 16 KiB). */
  maxMessage: number;
  /** Largest server message relayed to a session whose results are masked (it is buffered whole). */
  maxMaskedServerMessage: number;
  /** A client must finish start-up and authentication within this. */
  authTimeoutMs: number;
  /** Agents' statement_timeout upstream (set at start-up; more, or 0, is refused). */
  agentStatementTimeoutMs: number;
  agentIdleInTransactionTimeoutMs: number;
}

/** `sqlite:<path>` in the file is the embedded store kept at that path. */
export type AuditStoreConfig = { kind: "embedded"; path: string } | { kind: "postgres"; url: Secret };

/** Who may use the admin API and console, and how people sign in to it. */
export interface ConsoleConfig {
  /** Groups granting each role; an identity holds every role one of its groups grants. */
  roles: { admin: string[]; approver: string[]; auditor: string[] };
  /** How long a console session lasts from sign-in (console.session_ttl), independent of the token's expiry. */
  sessionTtlMs: number;
  /** Null: no browser sign-in (Bearer tokens and one-time links still work). */
  oidc: {
    issuer: string;
    clientId: string;
    clientSecret: Secret | null;
    /** Absolute callback URL; null derives it from the request's own origin. */
    redirectUrl: string | null;
    scopes: string[];
  } | null;
}

export interface Config {
  /** Absolute path of the file read, or null when built in code. */
  source: string | null;
  /** SHA-256 (hex) of the file text (or of the JSON given to parseConfig), for gateway.start audit events. */
  configHash: string;
  /** publicUrl: listen.public_url without trailing slash, or null (links then derive from listen.http). */
  listen: {
    postgres: HostPort;
    http: HostPort;
    publicUrl: string | null;
    /** Registered protocols' own listeners, by connection type (config/protocol-configs.ts). */
    protocols: Record<string, HostPort>;
    /** listen.workers, resolved: processes sharing the listeners (default: the number of CPUs). */
    workers: number;
  };
  dataDir: string;
  identity: {
    issuers: IssuerConfig[];
    agentGroups: string[];
    /** identity.max_token_lifetime: OIDC tokens whose exp is further away are refused. */
    maxTokenLifetimeMs: number;
    gatewayTokens: { maxTtlMs: number };
  };
  /** PostgreSQL connections (`type: postgres`). */
  connections: ConnectionConfig[];
  /** HTTP connections (`type: http`); names are unique across both lists. */
  httpConnections: HttpConnectionConfig[];
  /** Connections of the protocols registered in config/protocol-configs.ts. */
  protocolConnections: ProtocolConnectionConfig[];
  limits: LimitsConfig;
  audit: AuditConfig;
  /** bundle: absolute path, or null for the shipped default pack. */
  policy: { bundle: string | null; watch: boolean };
  /** hmacKey null: the gateway keeps its own key in data_dir (masking-hmac.key). */
  masking: {
    hmacKey: Secret | null;
    detectors: { name: string; pattern: string; method: "redact" | "partial" | "hash" | "null" }[];
  };
  approvals: { webhook: { url: string; secret: Secret } | null };
  console: ConsoleConfig;
  tls: { certFile: string; keyFile: string } | null;
  /** SIEM sinks the audit stream is delivered to (src/audit/siem/). */
  siem: SiemSinkConfig[];
  log: { level: LogLevel };
}
