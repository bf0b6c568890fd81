// The resolved configuration the rest of the gateway receives: camelCase, absolute paths, milliseconds,
// secrets wrapped in Secret.
import type { LogLevel } from "../core/log.ts";
import type { HostPort } from "./listen-address.ts";
import type { Secret } from "./secret.ts";

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
  idleTimeoutMs: number;
  maxSessionMs: number;
}

/** `sqlite:<path>` in the file is the embedded store kept at that path. */
export type AuditStoreConfig = { kind: "embedded"; path: string } | { kind: "postgres"; url: Secret };

export interface Config {
  /** Absolute path of the file read, or null when built in code. */
  source: string | null;
  /** SHA-256 (hex) of the file text (or of the JSON given to parseConfig), for gateway.start audit events. */
  configHash: string;
  listen: { postgres: HostPort; http: HostPort };
  dataDir: string;
  identity: {
    issuers: IssuerConfig[];
    agentGroups: string[];
    gatewayTokens: { maxTtlMs: number };
  };
  connections: ConnectionConfig[];
  audit: { store: AuditStoreConfig; sync: "writes" | "all" | "none" };
  /** bundle: absolute path, or null for the shipped default pack. */
  policy: { bundle: string | null; watch: boolean };
  tls: { certFile: string; keyFile: string } | null;
  log: { level: LogLevel };
}
