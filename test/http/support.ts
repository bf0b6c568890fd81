// An HTTP gateway for end-to-end tests: the test OIDC issuer, a real upstream service on loopback
// (Bun.serve, built by the test), and a gateway with `type: http` connections to it. No PostgreSQL.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import { createLogger } from "../../src/core/log.ts";
import { type RunningGateway, startGateway } from "../../src/gateway.ts";
import { dataDirBytes } from "../support/data-dir-files.ts";
import { freePort } from "../support/free-port.ts";
import type { OidcIssuer } from "../support/oidc-issuer.ts";
import { defaultBundle } from "../support/policy-bundle.ts";

export interface HttpTestGateway {
  gw: RunningGateway;
  base: string;
  dataDir: string;
  logs: string[];
  token(subject: string, groups?: string[]): Promise<string>;
  /** Every byte the gateway wrote to its data dir (audit store, WAL). */
  storeBytes(): Buffer;
  stop(): Promise<void>;
}

export async function startHttpGateway(opts: {
  issuer: OidcIssuer;
  connections: Record<string, unknown>[];
  env?: Record<string, string>;
  policyBundle?: string | null;
}): Promise<HttpTestGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), "custos-http-gw-"));
  const raw = {
    listen: { postgres: `127.0.0.1:${await freePort()}`, http: `127.0.0.1:${await freePort()}` },
    data_dir: dataDir,
    identity: {
      issuers: [{ issuer: opts.issuer.issuer, audience: "custos", groups_claim: "groups" }],
      agent_groups: ["agents"],
    },
    connections: opts.connections,
  };
  const config = parseConfig(raw, dataDir, opts.env ?? {});
  const logs: string[] = [];
  const logger = createLogger("debug", {}, (line) => void logs.push(line));
  const bundle = opts.policyBundle === undefined ? await defaultBundle() : opts.policyBundle;
  const gw = await startGateway(config, { logger, policyBundle: bundle });
  return {
    gw,
    base: `http://127.0.0.1:${gw.httpPort}`,
    dataDir,
    logs,
    token: (subject, groups = ["dba"]) =>
      opts.issuer.mint({ iss: opts.issuer.issuer, sub: subject, aud: "custos", groups }),
    // Out of this process: reading the live SQLite files here would drop the gateway's locks on them.
    storeBytes: () => dataDirBytes(dataDir),
    async stop() {
      await gw.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
