// The JavaScript SDK v3 (its own signer, checksums and payload modes) through the gateway to MinIO: an
// upload and a read by a human, an agent's masked read, an agent's bucket deletion refused.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Readable } from "node:stream";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  type AwsGateway,
  type AwsTargetServer,
  mint,
  startAwsGateway,
  startMinio,
  tapProxy,
} from "../../support/aws.ts";
import { getObject } from "../../support/aws-client.ts";
import { type OidcIssuer, startOidcIssuer } from "../../support/oidc-issuer.ts";

let s3: AwsTargetServer;
let issuer: OidcIssuer;
let g: AwsGateway;
const SSN = "078-05-1120";

const client = (creds: { id: string; secret: string }) =>
  new S3Client({
    region: "us-east-1",
    endpoint: `http://127.0.0.1:${g.awsPort}`,
    forcePathStyle: true,
    credentials: { accessKeyId: creds.id, secretAccessKey: creds.secret },
    maxAttempts: 1,
  });

beforeAll(async () => {
  issuer = await startOidcIssuer();
  s3 = await startMinio();
  g = await startAwsGateway(issuer, { s3: { server: s3, services: ["s3"] } });
}, 120_000);

afterAll(async () => {
  await g?.stop();
  await s3?.stop();
  await issuer?.stop();
});

test("SDK v3: a human creates, uploads and reads; an agent reads masked and may not delete the bucket", async () => {
  const human = client(await mint(g, "aws-s3", await g.token("dba@bank.example", ["dba"])));
  await human.send(new CreateBucketCommand({ Bucket: "sdk" }));
  const body = `note for Grace\nssn ${SSN}\n`;
  await human.send(
    new PutObjectCommand({ Bucket: "sdk", Key: "n.txt", Body: body, ContentType: "text/plain" }),
  );
  const got = await human.send(new GetObjectCommand({ Bucket: "sdk", Key: "n.txt" }));
  expect(await got.Body!.transformToString()).toBe(body);

  const agent = client(await mint(g, "aws-s3", await g.token("agent-7", ["agents"])));
  const masked = await agent.send(new GetObjectCommand({ Bucket: "sdk", Key: "n.txt" }));
  const text = await masked.Body!.transformToString();
  expect(text).toContain("note for Grace");
  expect(text).not.toContain(SSN);
  await expect(agent.send(new DeleteBucketCommand({ Bucket: "sdk" }))).rejects.toThrow(/custos/);
  human.destroy();
  agent.destroy();
});

test("SDK v3: a streamed upload goes as STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer and lands whole", async () => {
  const tap = await tapProxy(g.awsPort);
  const human = new S3Client({
    region: "us-east-1",
    endpoint: `http://127.0.0.1:${tap.port}`,
    forcePathStyle: true,
    credentials: await mint(g, "aws-s3", await g.token("dba@bank.example", ["dba"])).then((c) => ({
      accessKeyId: c.id,
      secretAccessKey: c.secret,
    })),
    maxAttempts: 1,
  });
  await human.send(new CreateBucketCommand({ Bucket: "sdk-stream" }));
  const data = new Uint8Array(200_000).map((_, i) => (i * 7) % 251);
  await human.send(
    new PutObjectCommand({
      Bucket: "sdk-stream",
      Key: "s.bin",
      Body: Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]),
      ContentLength: data.length,
    }),
  );
  const sent = tap.sent().toString("latin1");
  expect(sent).toMatch(/x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER/i);
  expect(sent).toMatch(/x-amz-checksum-crc32:/);
  // Judged by MinIO itself: the stored object is the bytes sent.
  const stored = await getObject(
    s3.url,
    { id: s3.accessKeyId, secret: s3.secretAccessKey },
    "sdk-stream",
    "s.bin",
  );
  expect(stored.status).toBe(200);
  expect(stored.hex).toBe(new Bun.CryptoHasher("sha256").update(data).digest("hex"));
  human.destroy();
  tap.stop();
});
