// Multipart uploads through the gateway against MinIO, decided once: an agent's `aws s3 cp` of a 20 MB file
// is held at CreateMultipartUpload, approved once, and its parts and completion follow under that
// approval (no review per part). Parts for an upload this session did not create, or for another key,
// are refused — judged by MinIO's own list of parts and objects.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  pendingRequests as approverPending,
  decideWithCli,
  pendingRequestId,
} from "../../support/approver.ts";
import {
  type AwsDeps,
  type AwsGateway,
  type AwsTargetServer,
  awsDeps,
  awsProfile,
  directEnv,
  run,
  startAwsGateway,
  startMinio,
} from "../../support/aws.ts";
import { type OidcIssuer, startOidcIssuer } from "../../support/oidc-issuer.ts";

setDefaultTimeout(180_000);
let deps: AwsDeps;
let minio: AwsTargetServer;
let issuer: OidcIssuer;
let g: AwsGateway;
let approver: string;
const work = mkdtempSync(join(tmpdir(), "custos-mpu-"));

const direct = () => directEnv(minio);
const aws = (env: Record<string, string>, ...args: string[]) => run([deps.AWS_CLI, ...args], env);

const pendingRequests = () => approverPending(g.httpPort, approver);
const waitPending = (text: string) => pendingRequestId(g.httpPort, approver, text, 60_000);

beforeAll(async () => {
  [deps, issuer] = await Promise.all([awsDeps("minio", "python"), startOidcIssuer()]);
  minio = await startMinio();
  g = await startAwsGateway(issuer, { s3: { server: minio, services: ["s3"] } });
  approver = await g.token("alice@bank.example", ["approvers"]);
  const mb = await aws(direct(), "s3", "mb", "s3://uploads");
  expect(mb.code, mb.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  await g?.stop();
  await minio?.stop();
  await issuer?.stop();
});

describe("multipart uploads", () => {
  test("an agent's 20 MB upload is approved once, at CreateMultipartUpload, and lands whole", async () => {
    const env = awsProfile(g, "aws-s3", await g.token("agent-7", ["agents"]));
    const f = join(work, "big.bin");
    writeFileSync(
      f,
      new Uint8Array(20 * 1024 * 1024).map((_, i) => i % 253),
    );
    const upload = aws(env, "s3", "cp", f, "s3://uploads/big.bin");
    const id = await waitPending("s3:CreateMultipartUpload arn:aws:s3:::uploads/big.bin");
    await decideWithCli(g.httpPort, "approve", id, approver, "ticket 9");
    const done = await upload;
    expect(done.code, done.stderr).toBe(0);
    // No part waited for a second approval.
    expect(await pendingRequests()).toEqual([]);
    const head = await aws(direct(), "s3api", "head-object", "--bucket", "uploads", "--key", "big.bin");
    expect(head.code, head.stderr).toBe(0);
    expect(JSON.parse(head.stdout).ContentLength).toBe(20 * 1024 * 1024);
  });

  test("parts for another session's upload, or for another key, are refused; the bound ones land", async () => {
    const human = awsProfile(g, "aws-s3", await g.token("dba@bank.example", ["dba"]));
    const other = awsProfile(g, "aws-s3", await g.token("ops@bank.example", ["dba"]));
    const created = await aws(
      human,
      "s3api",
      "create-multipart-upload",
      "--bucket",
      "uploads",
      "--key",
      "a.bin",
      "--output",
      "json",
    );
    expect(created.code, created.stderr).toBe(0);
    const uploadId = JSON.parse(created.stdout).UploadId as string;
    const part = join(work, "part.bin");
    writeFileSync(part, new Uint8Array(1024).fill(7));
    const put = (env: Record<string, string>, key: string) =>
      aws(
        env,
        "s3api",
        "upload-part",
        "--bucket",
        "uploads",
        "--key",
        key,
        "--upload-id",
        uploadId,
        "--part-number",
        "1",
        "--body",
        part,
        "--output",
        "json",
      );
    // Another identity's session, and the creating session for another key: refused.
    for (const [env, key] of [
      [other, "a.bin"],
      [human, "b.bin"],
    ] as const) {
      const r = await put(env, key);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("AccessDenied");
    }
    const before = await aws(
      direct(),
      "s3api",
      "list-parts",
      "--bucket",
      "uploads",
      "--key",
      "a.bin",
      "--upload-id",
      uploadId,
      "--output",
      "json",
    );
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout).Parts ?? []).toEqual([]);
    // The look-alike: the creating session's own part for its own key.
    const mine = await put(human, "a.bin");
    expect(mine.code, mine.stderr).toBe(0);
    const etag = JSON.parse(mine.stdout).ETag as string;
    const complete = await aws(
      human,
      "s3api",
      "complete-multipart-upload",
      "--bucket",
      "uploads",
      "--key",
      "a.bin",
      "--upload-id",
      uploadId,
      "--multipart-upload",
      JSON.stringify({ Parts: [{ ETag: etag, PartNumber: 1 }] }),
    );
    expect(complete.code, complete.stderr).toBe(0);
    const head = await aws(direct(), "s3api", "head-object", "--bucket", "uploads", "--key", "a.bin");
    expect(head.code, head.stderr).toBe(0);
    const none = await aws(direct(), "s3api", "head-object", "--bucket", "uploads", "--key", "b.bin");
    expect(none.code).not.toBe(0);
  });
});
