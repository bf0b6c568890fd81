// A gateway in front of the test cluster (test/support/kube-cluster.ts), and kubectl driven through it
// with nothing but the kubeconfig `custos kubeconfig` prints.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import { createLogger, type Logger } from "../../src/core/log.ts";
import { type RunningGateway, startGateway } from "../../src/gateway.ts";
import { freePort } from "../support/free-port.ts";
import type { KubeCluster } from "../support/kube-cluster.ts";
import type { OidcIssuer } from "../support/oidc-issuer.ts";
import { defaultBundle } from "../support/policy-bundle.ts";

const ROOT = join(import.meta.dir, "../..");

export interface KubeGateway {
  gw: RunningGateway;
  config: Config;
  configFile: string;
  dataDir: string;
  port: number;
  httpPort: number;
  logs: string[];
  token(subject: string, groups: string[]): Promise<string>;
  /** Writes the kubeconfig `custos kubeconfig` prints for this token; returns its path. */
  kubeconfig(token: string): Promise<string>;
  /** Real kubectl with only that kubeconfig. */
  kubectl(
    kubeconfig: string,
    args: string[],
    opts?: { input?: string; timeoutMs?: number; env?: Record<string, string> },
  ): Promise<Run>;
  stop(): Promise<void>;
}

export interface Run {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs `custos …` as a subprocess (the gateway runs in this process: never block it). */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, CUSTOS_TOKEN: "", ...env },
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}

export async function startKubeGateway(cluster: KubeCluster, issuer: OidcIssuer): Promise<KubeGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), "custos-kgw-"));
  // Outside data_dir: the gateway's credential file, and the clients' kubeconfigs (they hold tokens) and
  // kubectl's HOME, so what data_dir holds is only what the gateway wrote.
  const outside = mkdtempSync(join(tmpdir(), "custos-kgw-files-"));
  writeFileSync(join(outside, "gateway-sa.token"), `${cluster.tokens.gateway}\n`, { mode: 0o600 });
  const raw = {
    listen: {
      postgres: `127.0.0.1:${await freePort()}`,
      http: `127.0.0.1:${await freePort()}`,
      kubernetes: `127.0.0.1:${await freePort()}`,
    },
    data_dir: dataDir,
    // The console, for the replay check in Chromium (signed in with `custos console link`; OIDC sign-in too).
    console: {
      roles: { admin: ["custos-admins"], approver: [], auditor: [] },
      oidc: { issuer: issuer.issuer, client_id: "custos-console" },
    },
    identity: {
      issuers: [{ issuer: issuer.issuer, audience: "custos", groups_claim: "groups" }],
      agent_groups: ["agents"],
    },
    connections: [
      {
        name: "prod-cluster",
        type: "kubernetes",
        target: {
          server: cluster.server,
          ca_file: cluster.caFile,
          token_file: join(outside, "gateway-sa.token"),
          impersonate: true,
        },
        allow_groups: ["agents", "sre"],
        approvers: ["sre-leads"],
      },
    ],
  };
  const configFile = join(dataDir, "custos.yaml");
  writeFileSync(configFile, stringify(raw));
  const config = loadConfig(configFile, process.env);
  const logs: string[] = [];
  const logger: Logger = createLogger("debug", {}, (line) => void logs.push(line));
  const gw = await startGateway(config, { logger, policyBundle: await defaultBundle() });
  const port = gw.protocolPorts.kubernetes!;
  const kubectlPath = join(cluster.bin, "kubectl");
  return {
    gw,
    config,
    configFile,
    dataDir,
    port,
    httpPort: gw.httpPort,
    logs,
    token: (subject, groups) =>
      issuer.mint({ iss: issuer.issuer, sub: subject, aud: "custos", groups }, { expiresIn: "30m" }),
    async kubeconfig(token) {
      const r = await cli([
        "kubeconfig",
        "--config",
        configFile,
        "--connection",
        "prod-cluster",
        "--token",
        token,
      ]);
      if (r.code !== 0) throw new Error(`custos kubeconfig failed: ${r.stderr}`);
      const file = join(outside, `kubeconfig-${crypto.randomUUID()}`);
      writeFileSync(file, r.stdout, { mode: 0o600 });
      return file;
    },
    async kubectl(kubeconfig, args, opts = {}) {
      const proc = Bun.spawn([kubectlPath, `--kubeconfig=${kubeconfig}`, ...args], {
        stdin: opts.input === undefined ? "ignore" : Buffer.from(opts.input),
        stdout: "pipe",
        stderr: "pipe",
        // No ambient cluster configuration: the kubeconfig is all kubectl has.
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: outside, ...opts.env },
      });
      const timer = setTimeout(() => proc.kill(), opts.timeoutMs ?? 60_000);
      const [stdout, stderr, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      clearTimeout(timer);
      return {
        stdout,
        stderr: proc.signalCode ? `${stderr}\nkubectl killed (${proc.signalCode})` : stderr,
        code,
      };
    },
    async stop() {
      await gw.stop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(outside, { recursive: true, force: true });
    },
  };
}
