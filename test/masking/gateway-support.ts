// Shared set-up for the end-to-end masking tests: a real PostgreSQL holding the bank fixture, the test
// issuer, a gateway with the shipped default pack, a capturing proxy, and the scans for raw secrets.
import { fixtureSecrets, fixtureSql } from "../../src/demo/fixture.ts";
import { expandRecording } from "../../src/protocols/postgres/recording.ts";
import { withStore } from "../support/audit-read.ts";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";

export interface MaskingWorld {
  pg: PgServer;
  issuer: OidcIssuer;
  gw: TestGateway;
  agentUrl(subject: string, application?: string, port?: number): Promise<string>;
  humanUrl(subject: string, application?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startMaskingWorld(): Promise<MaskingWorld> {
  const pg = await startPostgres();
  pg.sql(fixtureSql(), "ledger");
  pg.sql(`grant select on all tables in schema public to ${pg.roles.scram.user}`, "ledger");
  const issuer = await startOidcIssuer();
  const gw = await startTestGateway({ pg, issuer });
  const url = async (subject: string, groups: string[], application: string, port = gw.port) => {
    const token = await gw.token(subject, groups);
    return `postgres://agent:${encodeURIComponent(token)}@127.0.0.1:${port}/ledger?sslmode=disable&application_name=${application}`;
  };
  return {
    pg,
    issuer,
    gw,
    agentUrl: (subject, application = "agent", port) => url(subject, ["agents"], application, port),
    humanUrl: (subject, application = "human") => url(subject, ["dba"], application),
    async stop() {
      await gw.stop();
      await issuer.stop();
      await pg.stop();
    },
  };
}

export { captureProxy } from "../support/capture-proxy.ts";

/** The fixture's raw SSNs and card numbers found in `bytes` (empty when none leaked). */
export function leakedSecrets(bytes: Uint8Array | string): string[] {
  const hay = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : Buffer.from(bytes);
  return fixtureSecrets().filter((s) => hay.includes(s));
}

/** Every recorded frame of every session, decoded to protocol messages, as latin1 text. */
export async function recordingsText(gw: TestGateway): Promise<string> {
  await gw.gw.recorder.durable();
  const frames = await withStore(gw, async (store) => {
    const all = [];
    for (const s of await store.listSessions({ limit: 1000 })) all.push(...(await store.sessionFrames(s.id)));
    return all;
  });
  return JSON.stringify(expandRecording(frames), function (k, v) {
    const raw = (this as Record<string, unknown>)[k];
    return raw instanceof Uint8Array ? Buffer.from(raw).toString("latin1") : v;
  });
}

/**
 * Every file under the data dir (store, WAL, keys) as raw bytes, read out of this process: reading the live
 * SQLite files here would drop the gateway's locks on them (test/support/data-dir-files.ts).
 */
export { dataDirFiles } from "../support/data-dir-files.ts";
