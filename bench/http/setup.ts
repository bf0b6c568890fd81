// Shared by the HTTP benchmarks: the upstream service and a bare Bun relay to it (bare-relay.ts) in their own
// processes, and a gateway in this one with a `type: http` connection `svc` to it (default policy pack,
// recording on). Two identities: a human (`dba`, the plain relay path) and an agent (`agents`, every JSON
// answer parsed and masked); `token` is the human's unless BENCH_AGENT=1.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { createLogger } from "../../src/core/log.ts";
import { startGateway } from "../../src/gateway.ts";
import { freePort } from "../../test/support/free-port.ts";
import { startOidcIssuer } from "../../test/support/oidc-issuer.ts";
import { defaultBundle } from "../../test/support/policy-bundle.ts";

export interface BenchSetup {
  upstreamPid: number;
  gatewayPid: number;
  barePid: number;
  direct: string;
  /** The same resource through the bare relay. */
  bare: string;
  custos: string;
  token: string;
  humanToken: string;
  agentToken: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startBench(connection: Record<string, unknown> = {}): Promise<BenchSetup> {
  const agent = process.env.BENCH_AGENT === "1";
  const upPort = await freePort();
  const up = Bun.spawn([process.execPath, join(import.meta.dir, "upstream.ts"), String(upPort)], {
    stdout: "pipe",
  });
  await up.stdout.getReader().read();
  const barePort = await freePort();
  const bare = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "bare-relay.ts"),
      String(barePort),
      `http://127.0.0.1:${upPort}`,
    ],
    { stdout: "pipe" },
  );
  await bare.stdout.getReader().read();
  const issuer = await startOidcIssuer();
  const dataDir = mkdtempSync(join(tmpdir(), "custos-bench-http-"));
  const config = parseConfig(
    {
      listen: { postgres: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}` },
      data_dir: dataDir,
      identity: {
        issuers: [{ issuer: issuer.issuer, audience: "custos" }],
        // The `agents` group is an agent, so every JSON answer it reads goes through the masking path.
        agent_groups: ["agents"],
      },
      connections: [
        {
          name: "svc",
          type: "http",
          target: `http://127.0.0.1:${upPort}`,
          allow_groups: ["dba", "agents"],
          ...connection,
        },
      ],
    },
    dataDir,
    {},
  );
  const gw = await startGateway(config, {
    logger: createLogger("warn"),
    policyBundle: await defaultBundle(),
  });
  const mint = (group: string) =>
    issuer.mint(
      { iss: issuer.issuer, sub: `bench-${group}`, aud: "custos", groups: [group] },
      { expiresIn: "2h" },
    );
  const humanToken = await mint("dba");
  const agentToken = await mint("agents");
  return {
    upstreamPid: up.pid,
    gatewayPid: process.pid,
    barePid: bare.pid,
    direct: `http://127.0.0.1:${upPort}/v1/invoices/42`,
    bare: `http://127.0.0.1:${barePort}/v1/invoices/42`,
    custos: `http://127.0.0.1:${gw.httpPort}/c/svc/v1/invoices/42`,
    token: agent ? agentToken : humanToken,
    humanToken,
    agentToken,
    dataDir,
    async stop() {
      await gw.stop();
      up.kill();
      bare.kill();
      await Promise.all([up.exited, bare.exited]);
      await issuer.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** CPU time (user + system) from a /proc stat file, in microseconds (clock ticks of 10 ms). */
function statMicros(path: string): number {
  const stat = readFileSync(path, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the ")" split.
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / 100;
}

/** CPU time (all threads) of a process so far, in microseconds. */
export function cpuMicros(pid: number): number {
  return statMicros(`/proc/${pid}/stat`);
}

/** CPU time per thread name (threads of the same name summed), in microseconds. */
export function threadMicros(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      out.set(name, (out.get(name) ?? 0) + statMicros(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
