// The conformance suite (checks.ts) against the PostgreSQL gateway: a real PostgreSQL, real psql.
import { connect } from "node:net";
import { psql, startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { type ClientResult, conformance } from "./checks.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;

const asClient = async (url: string, sql: string): Promise<ClientResult> => {
  const r = await psql(url, ["-At", "-c", sql]);
  return { refused: r.code !== 0 && /ERROR|FATAL/.test(r.stderr), bytes: r.stdout + r.stderr };
};

conformance(
  "postgres",
  async () => {
    [db, issuer] = await Promise.all([startPostgres(), startOidcIssuer()]);
    gw = await startTestGateway({ pg: db, issuer });
    db.sql("CREATE TABLE conformance_rows (id int primary key, note text)", "ledger");
    db.sql("INSERT INTO conformance_rows SELECT g, 'row-' || g FROM generate_series(1, 5) g", "ledger");
    db.sql("GRANT ALL ON conformance_rows TO PUBLIC", "ledger");
    const agentToken = await gw.token("agent-conformance", ["agents"]);
    return {
      protocol: "postgres",
      connection: "ledger",
      gateway: gw.gw,
      dataDir: gw.dataDir,
      agentToken,
      agentSubject: "agent-conformance",
      endsWithClient: true,
      targetUser: db.roles.scram.user,
      targetSecrets: [db.roles.scram.password],
      badToken: () => asClient(gw.url("not-a-token"), "select 1"),
      allowed: async () => ({
        ...(await asClient(gw.url(agentToken), "select note from conformance_rows where id = 3")),
        marker: "row-3",
      }),
      denied: () => asClient(gw.url(agentToken), "delete from conformance_rows"),
      deniedTookEffect: async () => db.sql("select count(*) from conformance_rows", "ledger").trim() !== "5",
      garbage: () =>
        new Promise<ClientResult>((resolve) => {
          const chunks: Buffer[] = [];
          const s = connect(gw.port, "127.0.0.1", () =>
            s.write(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
          );
          s.on("data", (d: Buffer) => chunks.push(d));
          s.on("error", () => {});
          s.on("close", () => {
            const bytes = Buffer.concat(chunks).toString("latin1");
            resolve({ refused: bytes.length === 0 || bytes.startsWith("E"), bytes });
          });
        }),
    };
  },
  async () => {
    await gw?.stop();
    await Promise.all([db?.stop(), issuer?.stop()]);
  },
);
