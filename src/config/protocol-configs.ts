// Connection types beyond postgres and http register here: one entry per protocol, naming its schema
// (src/config/<protocol>-schema.ts, which spreads connection-keys.ts's commonConnectionKeys), where its
// listener binds, and how a validated entry resolves (secrets and paths, through the loader's context).
// The loader and the schema read only this list, so adding a protocol's configuration is one line here.
import type { z } from "zod";
import { resolveAwsConnection } from "./aws-load.ts";
import { awsConnection } from "./aws-schema.ts";
import type { RawCommonConnection } from "./connection-keys.ts";
import type { HttpLoadContext } from "./http-load.ts";
import { kubernetesConfig } from "./kubernetes-load.ts";
import type { HostPort } from "./listen-address.ts";
import { resolveMcpConnection } from "./mcp-load.ts";
import { mcpConnectionSchema } from "./mcp-schema.ts";
import { resolveMysqlConnection } from "./mysql-load.ts";
import { mysqlConnection } from "./mysql-schema.ts";
import { resolveSshConnection } from "./ssh-load.ts";
import { sshConnection } from "./ssh-schema.ts";
import type { CommonConnectionConfig, ProtocolConnectionConfig } from "./types.ts";

export interface ProtocolLoadContext extends HttpLoadContext {
  /** Resolves the keys every connection shares (groups, labels, time-outs, retention, approvals). */
  common(raw: RawCommonConnection, at: string): CommonConnectionConfig;
}

export interface ProtocolConfig {
  /** The `connections[].type` value. */
  readonly type: string;
  /** A z.strictObject with `type: z.literal(<type>)`, `...commonConnectionKeys` and the protocol's keys. */
  readonly schema: z.ZodObject<{ type: z.ZodLiteral<string> } & z.ZodRawShape>;
  /** The `listen.<key>` of the protocol's own listener and its default; null when it is served on listen.http. */
  readonly listen: { key: string; default: HostPort } | null;
  // biome-ignore lint/suspicious/noExplicitAny: each protocol narrows the entry to its own schema's output.
  resolve(raw: any, at: string, ctx: ProtocolLoadContext): ProtocolConnectionConfig;
}

export const protocolConfigs: readonly ProtocolConfig[] = [
  {
    type: "ssh",
    schema: sshConnection,
    listen: { key: "ssh", default: { host: "127.0.0.1", port: 2222 } },
    resolve: resolveSshConnection,
  },
  kubernetesConfig,
  { type: "mcp", schema: mcpConnectionSchema, listen: null, resolve: resolveMcpConnection },
  {
    type: "aws",
    schema: awsConnection,
    listen: { key: "aws", default: { host: "127.0.0.1", port: 4566 } },
    resolve: resolveAwsConnection,
  },
  {
    type: "mysql",
    schema: mysqlConnection,
    listen: { key: "mysql", default: { host: "127.0.0.1", port: 13306 } },
    resolve: resolveMysqlConnection,
  },
];

export const protocolConnectionSchemas = protocolConfigs.map((p) => p.schema);
