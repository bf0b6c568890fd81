// The Kubernetes protocol's registry descriptor (protocols/registry.ts): connections of type kubernetes,
// served on listen.kubernetes over TLS with the gateway's certificate.
import type { ProtocolModule } from "../registry.ts";
import { startKubeServer } from "./server.ts";
import type { KubernetesTarget } from "./target.ts";

export const kubernetesProtocol: ProtocolModule<KubernetesTarget> = {
  type: "kubernetes",
  async start(ctx) {
    const listen = ctx.listen ?? { host: "127.0.0.1", port: 6443 };
    const server = await startKubeServer({
      gateway: ctx.gateway,
      masking: ctx.masking,
      logger: ctx.logger,
      tls: ctx.tls,
      host: listen.host,
      port: listen.port,
      maxHeaderBytes: Math.min(ctx.limits.maxMessage, 1 << 20),
    });
    ctx.logger.info("kubernetes listening", { host: listen.host, port: server.port });
    return { port: server.port, stop: (graceMs) => server.stop(graceMs) };
  },
};
