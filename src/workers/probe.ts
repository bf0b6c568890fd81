// Before any worker starts: every address the gateway will listen on is bound once without SO_REUSEPORT and
// released. A port another process holds (even another Custos with its own workers, whose SO_REUSEPORT
// sockets would otherwise quietly share it) is then a start-up error naming address:port, as for one process;
// a configured port 0 becomes the concrete port every worker will bind.
import type { Config, HostPort } from "../config/types.ts";
import { bindOrExplain } from "../net/listen.ts";
import { protocols } from "../protocols/registry.ts";
import type { WorkerRole } from "./worker-env.ts";

export async function probeListeners(config: Config): Promise<WorkerRole["ports"]> {
  const held: { stop(closeActive?: boolean): void }[] = [];
  const probe = (what: string, addr: HostPort): number => {
    const l = bindOrExplain(what, addr, () =>
      Bun.listen({ hostname: addr.host, port: addr.port, socket: { data() {} } }),
    );
    held.push(l);
    return l.port;
  };
  try {
    const postgres = probe("listen.postgres", config.listen.postgres);
    const http = probe("listen.http", config.listen.http);
    const used = new Set(
      [...config.connections, ...config.httpConnections, ...config.protocolConnections].map((c) => c.type),
    );
    const out: Record<string, number> = {};
    for (const m of protocols) {
      const addr = config.listen.protocols[m.type];
      if (!addr || (!used.has(m.type) && !m.startWithoutConnections)) continue;
      out[m.type] = probe(`listen.${m.type}`, addr);
    }
    return { postgres, http, protocols: out };
  } finally {
    for (const l of held) l.stop(true);
  }
}
