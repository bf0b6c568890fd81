// The AWS gateway's cost: added latency per API call (DynamoDB GetItem, sequential, direct to moto vs
// through Custos for a human and for an agent whose items are masked) and S3 transfer throughput (100 MB
// PutObject and GetObject, direct vs through Custos) against MinIO when it is installed, else moto's S3.
// Usage: bun bench/aws/run.ts [calls] [megabytes]. Prints a Markdown table for bench/RESULTS.md.
import { existsSync, readdirSync } from "node:fs";
import {
  type AwsTargetServer,
  mint,
  send,
  signedDynamo,
  startAwsGateway,
  startMinio,
  startMoto,
} from "../../test/support/aws.ts";
import { getObject, putObject } from "../../test/support/aws-client.ts";
import { startOidcIssuer } from "../../test/support/oidc-issuer.ts";

const calls = Number(process.argv[2] ?? 300);
const mb = Number(process.argv[3] ?? 100);

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

const issuer = await startOidcIssuer();
const moto = await startMoto();
// MinIO when setup-aws-deps has built it (its build takes minutes), else moto's S3.
const cache = `${process.env.XDG_CACHE_HOME ?? `${process.env.HOME}/.cache`}/custos`;
const haveMinio =
  existsSync(cache) &&
  readdirSync(cache).some((d) => d.startsWith("minio-") && existsSync(`${cache}/${d}/.ok`));
const s3: AwsTargetServer = haveMinio ? await startMinio() : moto;
const g = await startAwsGateway(issuer, {
  moto: { server: moto, services: ["dynamodb"] },
  s3: { server: s3, services: ["s3"] },
});
const gw = `http://127.0.0.1:${g.awsPort}`;
const human = await mint(g, "aws-moto", await g.token("bench-human", ["dba"]));
const agent = await mint(g, "aws-moto", await g.token("bench-agent", ["agents"]));
const target = { id: moto.accessKeyId, secret: moto.secretAccessKey };
await send(
  signedDynamo(moto.url, target, "CreateTable", {
    TableName: "bench",
    AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
    KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
    BillingMode: "PAY_PER_REQUEST",
  }),
);
await send(
  signedDynamo(moto.url, target, "PutItem", {
    TableName: "bench",
    Item: { id: { S: "k" }, email: { S: "a@bank.example" }, note: { S: "ssn 078-05-1120" } },
  }),
);

async function latency(base: string, creds: { id: string; secret: string }): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < calls + 20; i++) {
    // A fresh signature per call (the gateway refuses replays), as every SDK sends.
    const c = signedDynamo(base, creds, "GetItem", {
      TableName: "bench",
      Key: { id: { S: "k" } },
      ConsistentRead: i % 2 === 0,
    });
    const t = performance.now();
    const r = await send(c);
    if (r.status !== 200) throw new Error(`GetItem ${r.status} ${r.text}`);
    if (i >= 20) out.push(performance.now() - t);
  }
  return out;
}

const rows: string[] = [];
const direct = await latency(moto.url, target);
const viaHuman = await latency(gw, human);
const viaAgent = await latency(gw, agent);
const row = (name: string, xs: number[]) => {
  const p50 = pct(xs, 0.5);
  rows.push(
    `| DynamoDB GetItem, ${name} | ${p50.toFixed(2)} ms | ${pct(xs, 0.99).toFixed(2)} ms | ${(p50 / pct(direct, 0.5)).toFixed(2)}× |`,
  );
};
row("direct to moto", direct);
row("through Custos, human (unmasked)", viaHuman);
row("through Custos, agent (item masked)", viaAgent);

const s3human = await mint(g, "aws-s3", await g.token("bench-human", ["dba"]));
const s3target = { id: s3.accessKeyId, secret: s3.secretAccessKey };
const { sign, amzDate, EMPTY_SHA256 } = await import("../../src/net/sigv4.ts");
{
  const date = amzDate(Date.now());
  const headers = { host: new URL(s3.url).host, "x-amz-date": date, "x-amz-content-sha256": EMPTY_SHA256 };
  const s = sign({
    method: "PUT",
    canonicalUri: "/bench",
    query: [],
    headers,
    payloadHash: EMPTY_SHA256,
    scope: { date: date.slice(0, 8), region: "us-east-1", service: "s3" },
    amzDate: date,
    accessKeyId: s3target.id,
    secret: s3target.secret,
  });
  await fetch(`${s3.url}/bench`, { method: "PUT", headers: { ...headers, authorization: s.authorization } });
}
const size = mb * 1024 * 1024;
const tput: string[] = [];
for (const mode of ["unsigned", "chunked-signed"] as const) {
  const timed = async (base: string, creds: { id: string; secret: string }, key: string) => {
    const t0 = performance.now();
    const p = await putObject(base, creds, "bench", key, size, mode, { chunk: 1024 * 1024 });
    if (p.status !== 200) throw new Error(`put ${p.status} ${p.text}`);
    const t1 = performance.now();
    const gr = await getObject(base, creds, "bench", key);
    if (gr.bytes !== size) throw new Error(`get ${gr.status} ${gr.text}`);
    const t2 = performance.now();
    return { put: mb / ((t1 - t0) / 1000), get: mb / ((t2 - t1) / 1000) };
  };
  const d = await timed(s3.url, s3target, `direct-${mode}`);
  const c = await timed(gw, s3human, `custos-${mode}`);
  tput.push(
    `| PutObject ${mb} MB, ${mode} | ${d.put.toFixed(0)} MB/s | ${c.put.toFixed(0)} MB/s | ${(c.put / d.put).toFixed(2)} |`,
  );
  tput.push(
    `| GetObject ${mb} MB | ${d.get.toFixed(0)} MB/s | ${c.get.toFixed(0)} MB/s | ${(c.get / d.get).toFixed(2)} |`,
  );
}

console.log(`\n${calls} sequential calls after 20 warm-up; S3 target: ${haveMinio ? "MinIO" : "moto"}\n`);
console.log("| call | p50 | p99 | p50 vs direct |\n|---|---|---|---|");
console.log(rows.join("\n"));
console.log("\n| transfer | direct | through Custos | ratio |\n|---|---|---|---|");
console.log(tput.join("\n"));
await g.stop();
if (s3 !== moto) await s3.stop();
await moto.stop();
await issuer.stop();
