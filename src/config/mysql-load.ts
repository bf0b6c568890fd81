// Resolves a `type: mysql` connection: its password (from an environment variable or a file) and the CA
// bundle for verify-full. The password stays a Secret until the upstream handshake answers with it.
import { resolve } from "node:path";
import type { MysqlTarget } from "../protocols/mysql/target.ts";
import type { RawMysqlConnection } from "./mysql-schema.ts";
import type { ProtocolLoadContext } from "./protocol-configs.ts";
import type { Secret } from "./secret.ts";
import type { ProtocolConnectionConfig } from "./types.ts";

export function resolveMysqlConnection(
  raw: RawMysqlConnection,
  at: string,
  ctx: ProtocolLoadContext,
): ProtocolConnectionConfig<MysqlTarget> {
  const t = raw.target;
  const where = `${at}.target`;
  if (t.password_env !== undefined && t.password_file !== undefined)
    throw ctx.fail(`${where}.password_file`, "use either password_env or password_file, not both");
  let password: Secret | undefined;
  if (t.password_env !== undefined) password = ctx.fromEnv(t.password_env, `${where}.password_env`);
  if (t.password_file !== undefined) password = ctx.fromFile(t.password_file, `${where}.password_file`);
  let ca: string | undefined;
  if (t.ca_file !== undefined) {
    if (t.tls === "disable")
      throw ctx.fail(`${where}.ca_file`, "ca_file needs tls prefer, require or verify-full");
    ca = ctx.readText(resolve(ctx.baseDir, t.ca_file), `${where}.ca_file`);
  }
  if (t.tls === "verify-full" && ca === undefined)
    throw ctx.fail(`${where}.ca_file`, "verify-full needs ca_file");
  return {
    ...ctx.common(raw, at),
    type: "mysql",
    target: {
      host: t.host,
      port: t.port,
      database: t.database,
      user: t.user,
      ...(password ? { password } : {}),
      tls: t.tls,
      ...(ca !== undefined ? { ca } : {}),
      heldReplyMs: raw.held_reply,
      heldRetryMs: raw.held_retry_window,
    },
    targetAccount: { user: t.user, database: t.database },
  };
}
