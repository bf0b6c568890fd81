// The shape of `type: mysql` connections (MySQL and MariaDB): the upstream server, the account Custos
// logs in as, and TLS towards it. Pure, like schema.ts; the password resolves in mysql-load.ts.
import { z } from "zod";
import { commonConnectionKeys, envName, nonEmpty, port } from "./connection-keys.ts";

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
});

export type RawMysqlConnection = z.output<typeof mysqlConnection>;
