// The shape of `type: mysql` connections (MySQL and MariaDB): the upstream server, the account Custos
// logs in as, and TLS towards it. Pure, like schema.ts; the password resolves in mysql-load.ts.
import { z } from "zod";
import { commonConnectionKeys, duration, envName, nonEmpty, port } from "./connection-keys.ts";

const mysqlTarget = z.strictObject({
  host: nonEmpty,
  port: port.default(3306),
  database: nonEmpty,
  user: nonEmpty,
  password_env: envName.optional(),
  password_file: nonEmpty.optional(),
  tls: z.enum(["disable", "prefer", "require", "verify-full"]).default("prefer"),
  ca_file: nonEmpty.optional(),
});

export const mysqlConnection = z.strictObject({
  type: z.literal("mysql"),
  ...commonConnectionKeys,
  target: mysqlTarget,
  // MySQL has no asynchronous notice: a statement held for review is answered with an ERR naming the
  // request after `held_reply`, and the same statement sent again in that session within
  // `held_retry_window` of the approval runs once (protocols/mysql/held.ts).
  held_reply: duration.default(2_000),
  held_retry_window: duration.default(10 * 60_000),
});

export type RawMysqlConnection = z.output<typeof mysqlConnection>;
