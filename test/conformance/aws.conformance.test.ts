// The conformance suite (checks.ts) against the AWS gateway: moto with authentication enforced as the
// target, SigV4-signed DynamoDB calls with gateway-minted credentials as the client.
import { connect } from "node:net";
import {
  type AwsGateway,
  type AwsTargetServer,
  mint,
  send,
  signedDynamo,
  startAwsGateway,
  startMoto,
} from "../support/aws.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type ClientResult, conformance } from "./checks.ts";

let issuer: OidcIssuer;
let moto: AwsTargetServer;
let g: AwsGateway;

async function listTables(base: string, creds: { id: string; secret: string }) {
  const r = await send(signedDynamo(base, creds, "ListTables", {}));
  return JSON.parse(r.text).TableNames as string[];
}

conformance(
  "aws",
  async () => {
    issuer = await startOidcIssuer();
    moto = await startMoto();
    g = await startAwsGateway(issuer, { moto: { server: moto, services: ["dynamodb"] } });
    const target = { id: moto.accessKeyId, secret: moto.secretAccessKey };
    await send(
      signedDynamo(moto.url, target, "CreateTable", {
        TableName: "conformance-table",
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    const agentToken = await g.token("agent-conformance", ["agents"]);
    const base = `http://127.0.0.1:${g.awsPort}`;
    const asAgent = async (action: string, body: unknown): Promise<ClientResult> => {
      const creds = await mint(g, "aws-moto", agentToken);
      const r = await send(signedDynamo(base, creds, action, body));
      return { refused: r.status === 403 || r.status === 401, bytes: `${r.status}\n${r.text}` };
    };
    return {
      protocol: "aws",
      connection: "aws-moto",
      gateway: g.gw,
      dataDir: g.dataDir,
      agentToken,
      agentSubject: "agent-conformance",
      endsWithClient: false,
      targetUser: "aws",
      targetSecrets: [moto.secretAccessKey],
      badToken: async () => {
        const res = await fetch(`http://127.0.0.1:${g.httpPort}/aws/credentials`, {
          method: "POST",
          headers: { authorization: "Bearer not-a-token", "content-type": "application/json" },
          body: JSON.stringify({ connection: "aws-moto" }),
        });
        return { refused: res.status === 401, bytes: `${res.status}\n${await res.text()}` };
      },
      allowed: async () => ({ ...(await asAgent("ListTables", {})), marker: "conformance-table" }),
      denied: () => asAgent("DeleteTable", { TableName: "conformance-table" }),
      deniedTookEffect: async () => !(await listTables(moto.url, target)).includes("conformance-table"),
      garbage: () =>
        new Promise<ClientResult>((resolve) => {
          const chunks: Buffer[] = [];
          const s = connect(g.awsPort, "127.0.0.1", () => s.end(Buffer.from("\x16\x03\x01garbage\r\n\r\n")));
          s.on("data", (d: Buffer) => chunks.push(d));
          s.on("error", () => {});
          s.on("close", () => {
            const bytes = Buffer.concat(chunks).toString("latin1");
            resolve({ refused: bytes.length === 0 || bytes.startsWith("HTTP/1.1 400"), bytes });
          });
        }),
    };
  },
  async () => {
    await g?.stop();
    await moto?.stop();
    await issuer?.stop();
  },
);
