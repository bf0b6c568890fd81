// The protocols the gateway starts besides PostgreSQL and HTTP (STYLE.md: Teleport's Engine registry).
// A protocol is one folder under src/protocols/ exporting one ProtocolModule, plus one line in `protocols`
// below and one in config/protocol-configs.ts for its connection schema; src/gateway.ts starts whatever
// is listed. A protocol sees only what ProtocolContext hands it: the pipeline's Gateway contract, the
// shared masking engine, a logger and the gateway's own key material — never identity, policy or audit.
import type { Server } from "bun";
import type { Logger } from "../core/log.ts";
import type { ConnectionInfo, Gateway } from "../core/session.ts";
import type { MaskingEngine } from "../masking/engine.ts";
import type { Address } from "../net/listen.ts";
import { awsProtocol } from "./aws/index.ts";
import { kubernetesProtocol } from "./kubernetes/module.ts";
import { mcpProtocol } from "./mcp/index.ts";
import { mysqlProtocol } from "./mysql/index.ts";
import { sshProtocol } from "./ssh/index.ts";

export interface ProtocolContext {
  gateway: Gateway;
  masking: MaskingEngine;
  logger: Logger;
  /** The gateway's own TLS certificate and key (PEM), for listeners that speak TLS. */
  tls: { cert: string; key: string };
  /** data_dir: where a protocol keeps keys of its own (an SSH host key and CA), created mode 0600. */
  dataDir: string;
  /** listen.<key> of the protocol's own listener; null when it is served on listen.http. */
  listen: Address | null;
  limits: {
    /** Largest client message after authentication (limits.max_message). */
    maxMessage: number;
    /** Time a client has to authenticate (limits.auth_timeout). */
    authTimeoutMs: number;
  };
  /**
   * Where clients reach the gateway (listen.public_url, else derived from listen.http) and the OIDC issuers
   * it trusts, for discovery documents (MCP's RFC 9728 protected-resource metadata).
   */
  discovery: { publicUrl: string; issuers: string[] };
  /**
   * Where the gateway's own listeners ended up, for protocols that reach other connections through them
   * (`protocols`: registered protocols' own listeners by connection type, known once all have started).
   */
  endpoints(): { postgres: number; http: number; protocols: Readonly<Record<string, number>> };
}

export interface RunningProtocol {
  /** Bound port of the protocol's own listener; null when it is served on listen.http. */
  readonly port: number | null;
  /**
   * Requests on listen.http this protocol serves (e.g. MCP at /mcp): a response, or undefined when the
   * request is not this protocol's. Tried before the admin API and console.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the listener's WebSocket data type is the HTTP gateway's.
  fetch?(req: Request, server: Server<any>): Response | Promise<Response> | undefined;
  /** Stop accepting; end live sessions after graceMs. */
  stop(graceMs: number): Promise<void>;
}

export interface ProtocolModule<Target = unknown> {
  /** The `connections[].type` it serves (and the `protocol` of its commands and sessions). */
  readonly type: string;
  /** Started even when no connection of its type is configured (a front door such as MCP's). */
  readonly startWithoutConnections?: boolean;
  /** Binds its listener (if any) for the configured connections, whose targets hold the resolved secrets. */
  start(ctx: ProtocolContext, connections: ConnectionInfo<Target>[]): Promise<RunningProtocol>;
}

export const protocols: readonly ProtocolModule[] = [
  sshProtocol as ProtocolModule,
  kubernetesProtocol as ProtocolModule,
  mcpProtocol,
  awsProtocol as ProtocolModule,
  mysqlProtocol as ProtocolModule,
];
