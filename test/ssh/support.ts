// The SSH suites' fixture: a real sshd (test/support/sshd.ts), the test OIDC issuer, and a gateway with
// one ssh connection `build-host` to that sshd, plus helpers that run real OpenSSH clients through it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { createLogger } from "../../src/core/log.ts";
import { type RunningGateway, startGateway } from "../../src/gateway.ts";
import { freePort } from "../support/free-port.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { defaultBundle } from "../support/policy-bundle.ts";
import { type Sshd, startSshd } from "../support/sshd.ts";

export interface SshFixture {
  sshd: Sshd;
  issuer: OidcIssuer;
  gw: RunningGateway;
  dataDir: string;
  /** The fixture's config as a file, for the CLI (`--config`). */
  configFile: string;
  sshPort: number;
  httpPort: number;
  logs: string[];
  token(subject: string, groups: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startSshFixture(
  opts: {
    connection?: Record<string, unknown>;
    /** Target keys replacing the defaults; a function gets the started sshd (for its files). */
    target?: Record<string, unknown> | ((sshd: Sshd) => Record<string, unknown>);
    config?: Record<string, unknown>;
    /** The sshd's own options (a password it also accepts). */
    sshd?: { password?: string; x11?: boolean };
    /** A compiled policy bundle instead of the default pack. */
    policyBundle?: string;
    /** The environment the config is loaded with (for `*_env` secrets). */
    env?: Record<string, string>;
  } = {},
): Promise<SshFixture> {
  const [sshd, issuer] = await Promise.all([startSshd(opts.sshd), startOidcIssuer()]);
  const dataDir = mkdtempSync(join(tmpdir(), "custos-ssh-gw-"));
  const raw = {
    listen: {
      postgres: `127.0.0.1:${await freePort()}`,
      http: `127.0.0.1:${await freePort()}`,
      ssh: `127.0.0.1:${await freePort()}`,
    },
    data_dir: dataDir,
    identity: {
      issuers: [{ issuer: issuer.issuer, audience: "custos", groups_claim: "groups" }],
      agent_groups: ["agents"],
    },
    connections: [
      {
        name: "build-host",
        type: "ssh",
        target: {
          host: sshd.host,
          port: sshd.port,
          user: sshd.user,
          private_key_file: sshd.clientKeyFile,
          host_key: sshd.hostKey,
          ...(typeof opts.target === "function" ? opts.target(sshd) : opts.target),
        },
        allow_groups: ["agents", "sre"],
        approvers: ["approvers"],
        review_timeout: "20s",
        ...opts.connection,
      },
    ],
    ...opts.config,
  };
  const configFile = join(dataDir, "custos.yaml");
  writeFileSync(configFile, JSON.stringify(raw, null, 2));
  const logs: string[] = [];
  let gw: RunningGateway;
  try {
    gw = await startGateway(parseConfig(raw, dataDir, opts.env ?? {}), {
      logger: createLogger("debug", {}, (line) => void logs.push(line)),
      policyBundle: opts.policyBundle ?? (await defaultBundle()),
    });
  } catch (err) {
    await Promise.all([sshd.stop(), issuer.stop()]);
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    sshd,
    issuer,
    gw,
    dataDir,
    configFile,
    sshPort: gw.protocolPorts.ssh!,
    httpPort: gw.httpPort,
    logs,
    token: (subject, groups) =>
      issuer.mint({ iss: issuer.issuer, sub: subject, aud: "custos", groups }, { expiresIn: "30m" }),
    async stop() {
      await gw.stop();
      await Promise.all([sshd.stop(), issuer.stop()]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Run {
  stdout: string;
  stderr: string;
  code: number;
  /** Every byte the client printed, stdout and stderr, for counting fixture values. */
  all: string;
}

const CLIENT_OPTS = [
  "-o",
  "StrictHostKeyChecking=no",
  "-o",
  "UserKnownHostsFile=/dev/null",
  "-o",
  "LogLevel=ERROR",
  "-o",
  "PreferredAuthentications=password,keyboard-interactive",
  "-o",
  "PubkeyAuthentication=no",
  "-o",
  "NumberOfPasswordPrompts=1",
];

/** A real OpenSSH client through the gateway, its password (the token) typed by sshpass. */
export async function viaGateway(
  f: SshFixture,
  token: string,
  tool: "ssh" | "sftp" | "scp",
  args: string[],
  opts: { stdin?: string | Uint8Array; timeoutMs?: number; user?: string } = {},
): Promise<Run> {
  const port = tool === "ssh" ? ["-p", String(f.sshPort)] : ["-P", String(f.sshPort)];
  const user = opts.user ?? "build-host";
  const cmd =
    tool === "ssh"
      ? ["sshpass", "-e", "ssh", ...port, ...CLIENT_OPTS, `${user}@127.0.0.1`, ...args]
      : tool === "sftp"
        ? [
            "sshpass",
            "-e",
            "sftp",
            ...port,
            ...CLIENT_OPTS,
            "-o",
            "BatchMode=no",
            ...args.slice(0, -1),
            `${user}@127.0.0.1${args.at(-1) ?? ""}`,
          ]
        : ["sshpass", "-e", "scp", ...port, ...CLIENT_OPTS, ...args];
  const p = Bun.spawn(cmd, {
    stdin:
      opts.stdin === undefined
        ? "ignore"
        : typeof opts.stdin === "string"
          ? Buffer.from(opts.stdin)
          : opts.stdin,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, SSHPASS: token },
  });
  const timer = setTimeout(() => p.kill(), opts.timeoutMs ?? 30_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  clearTimeout(timer);
  return { stdout, stderr, code, all: stdout + stderr };
}
