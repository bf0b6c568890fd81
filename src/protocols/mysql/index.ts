// The MySQL/MariaDB protocol's descriptor for the registry (protocols/registry.ts).
import type { ProtocolModule } from "../registry.ts";
import { startMysqlServer } from "./server.ts";
import type { MysqlTarget } from "./target.ts";

export const mysqlProtocol: ProtocolModule<MysqlTarget> = {
  type: "mysql",
  async start(ctx) {
    const server = startMysqlServer(ctx.listen ?? { host: "127.0.0.1", port: 13306 }, {
      gateway: ctx.gateway,
      masking: ctx.masking,
      logger: ctx.logger,
      tls: ctx.tls,
      maxMessage: ctx.limits.maxMessage,
      authTimeoutMs: ctx.limits.authTimeoutMs,
    });
    return { port: server.port, stop: (graceMs) => server.stop(graceMs) };
  },
};
