// The SSH protocol's descriptor for the registry (protocols/registry.ts): exec, shells and SFTP through
// the gateway's identity, policy, approvals and recording.
import type { ProtocolModule } from "../registry.ts";
import { loadOrCreateHostKey } from "./host-key.ts";
import { startSshServer } from "./server.ts";
import type { SshTarget } from "./target.ts";

export const sshProtocol: ProtocolModule<SshTarget> = {
  type: "ssh",
  async start(ctx, connections) {
    const key = loadOrCreateHostKey(ctx.dataDir);
    const server = await startSshServer({
      gateway: ctx.gateway,
      masking: ctx.masking,
      logger: ctx.logger,
      hostKey: key.privateKey,
      listen: ctx.listen ?? { host: "127.0.0.1", port: 2222 },
      authTimeoutMs: ctx.limits.authTimeoutMs,
      connections,
    });
    ctx.logger.info("ssh listening", { port: server.port, host_key: key.publicKey });
    return { port: server.port, stop: (graceMs) => server.stop(graceMs) };
  },
};
