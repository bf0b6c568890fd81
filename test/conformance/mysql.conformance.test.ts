// The conformance suite (checks.ts) against the MySQL gateway: a real MariaDB, the real mariadb CLI.
import { connect } from "node:net";
import { type MysqlHarness, mariadbCli, startMysqlHarness } from "../mysql/support.ts";
import { type ClientResult, conformance } from "./checks.ts";

let h: MysqlHarness;

const asClient = async (token: string, sql: string): Promise<ClientResult> => {
  const r = await mariadbCli(h.port, token, `${sql};\n`);
  return { refused: r.code !== 0 && /ERROR \d+/.test(r.stderr), bytes: r.stdout + r.stderr };
};

conformance(
  "mysql",
  async () => {
    h = await startMysqlHarness();
    await h.db.sql(
      "CREATE TABLE conformance_rows (id INT PRIMARY KEY, note TEXT); INSERT INTO conformance_rows VALUES (1,'row-1'),(2,'row-2'),(3,'row-3'),(4,'row-4'),(5,'row-5')",
    );
    const agentToken = await h.token("agent-conformance", ["agents"]);
    return {
      protocol: "mysql",
      connection: "loans",
      gateway: h.gw,
      dataDir: h.dataDir,
      agentToken,
      agentSubject: "agent-conformance",
      endsWithClient: true,
      targetUser: h.db.user,
      targetSecrets: [h.db.password],
      badToken: () => asClient("not-a-token", "select 1"),
      allowed: async () => ({
        ...(await asClient(agentToken, "select note from conformance_rows where id = 3")),
        marker: "row-3",
      }),
      denied: () => asClient(agentToken, "delete from conformance_rows"),
      deniedTookEffect: async () => (await h.db.sql("select count(*) from conformance_rows")).trim() !== "5",
      garbage: () =>
        new Promise<ClientResult>((resolve) => {
          const chunks: Buffer[] = [];
          const s = connect(h.port, "127.0.0.1", () =>
            s.write(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")),
          );
          s.on("data", (d: Buffer) => chunks.push(d));
          s.on("error", () => {});
          s.on("close", () => {
            const bytes = Buffer.concat(chunks).toString("latin1");
            // The greeting, then an ERR packet (0xff) or a close.
            resolve({ refused: bytes.length === 0 || bytes.includes("\xff"), bytes });
          });
        }),
    };
  },
  async () => {
    await h?.stop();
  },
);
