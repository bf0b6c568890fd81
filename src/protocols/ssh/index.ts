// The SSH protocol's descriptor for the registry (protocols/registry.ts): exec, shells and SFTP through
// the gateway's identity, policy, approvals and recording; certificates for `custos ssh login` on listen.http.
import type { ProtocolModule } from "../registry.ts";
import { loadOrCreateCa } from "./cert-authority.ts";
import { serveCaEndpoint } from "./cert-endpoint.ts";
import { CertificateIssuer } from "./cert-issuer.ts";
import { loadOrCreateHostKey } from "./host-key.ts";
import { startSshServer } from "./server.ts";
import type { SshTarget } from "./target.ts";

export const sshProtocol: ProtocolModule<SshTarget> = {
  type: "ssh",
  async start(ctx, connections) {
    const key = loadOrCreateHostKey(ctx.dataDir);
    const ca = loadOrCreateCa(ctx.dataDir);
    const issuer = new CertificateIssuer(
      ctx.gateway,
      ca,
      new Set(connections.map((c) => c.name)),
      ctx.dataDir,
    );
    const server = await startSshServer({
      gateway: ctx.gateway,
      masking: ctx.masking,
      logger: ctx.logger,
      hostKey: key.privateKey,
      listen: ctx.listen ?? { host: "127.0.0.1", port: 2222 },
      authTimeoutMs: ctx.limits.authTimeoutMs,
      connections,
      certificates: { ca, issuer },
    });
    ctx.logger.info("ssh listening", { port: server.port, host_key: key.publicKey, ca_key: ca.publicKey });
    const endpoint = { issuer, hostKey: key.publicKey, caKey: ca.publicKey, port: server.port };
    return {
      port: server.port,
      fetch(req, srv) {
        return serveCaEndpoint(endpoint, req, () => {
          const ip = srv.requestIP(req);
          return ip ? `${ip.address}:${ip.port}` : "unknown";
        });
      },
      stop: (graceMs) => server.stop(graceMs),
    };
  },
};
