// AWS served under listen.http at /aws/<connection>/ (no listen.aws needed): the AWS CLI and boto3 with
// endpoint_url naming the mount, their signatures verified over the full path they signed, S3 (MinIO) and
// DynamoDB (moto) reached through it. A credential used at another connection's mount, and a signature
// computed without the mount prefix, are refused — judged by MinIO's own state.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { amzDate, EMPTY_SHA256, sign } from "../../../src/net/sigv4.ts";
import {
  type AwsDeps,
  type AwsGateway,
  type AwsTargetServer,
  awsDeps,
  awsProfile,
  directEnv,
  mint,
  run,
  startAwsGateway,
  startMinio,
  startMoto,
} from "../../support/aws.ts";
import { type OidcIssuer, startOidcIssuer } from "../../support/oidc-issuer.ts";

setDefaultTimeout(180_000);
let deps: AwsDeps;
let minio: AwsTargetServer;
let moto: AwsTargetServer;
let issuer: OidcIssuer;
let g: AwsGateway;
const work = mkdtempSync(join(tmpdir(), "custos-mount-"));
const SSN = "078-05-1120";
const NOTE = `mounted note\nssn: ${SSN}\ncity: Arlington\n`;

const minioDirect = () => directEnv(minio);
const aws = (env: Record<string, string>, ...args: string[]) => run([deps.AWS_CLI, ...args], env);
const mountOf = (conn: string) => `http://127.0.0.1:${g.httpPort}/aws/${conn}`;
const profile = async (conn: string, mount: string, subject: string, groups: string[]) =>
  awsProfile(g, conn, await g.token(subject, groups), { endpoint: mountOf(mount) });

beforeAll(async () => {
  [deps, issuer] = await Promise.all([awsDeps("minio", "python"), startOidcIssuer()]);
  [minio, moto] = await Promise.all([startMinio(), startMoto()]);
  // Every call below goes to listen.http; listen.aws is bound too but never used.
  g = await startAwsGateway(issuer, {
    s3: { server: minio, services: ["s3"] },
    moto: { server: moto, services: ["dynamodb"] },
  });
  const note = join(work, "note.txt");
  writeFileSync(note, NOTE);
  for (const args of [
    ["s3", "mb", "s3://mounted"],
    ["s3", "cp", note, "s3://mounted/note.txt", "--content-type", "text/plain"],
  ]) {
    const r = await aws(minioDirect(), ...args);
    expect(r.code, r.stderr).toBe(0);
  }
}, 600_000);

afterAll(async () => {
  await g?.stop();
  await minio?.stop();
  await moto?.stop();
  await issuer?.stop();
});

describe("the AWS CLI at /aws/<connection>/", () => {
  test("an agent lists and reads (masked); a human's upload lands in MinIO", async () => {
    const agent = await profile("aws-s3", "aws-s3", "agent-7", ["agents"]);
    const ls = await aws(agent, "s3", "ls", "s3://mounted/");
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toContain("note.txt");
    const get = await aws(agent, "s3", "cp", "s3://mounted/note.txt", "-");
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout + get.stderr).not.toContain(SSN);
    expect(get.stdout).toContain("Arlington");
    const human = await profile("aws-s3", "aws-s3", "dba@bank.example", ["dba"]);
    const up = join(work, "up.txt");
    writeFileSync(up, "uploaded through the mount\n");
    const put = await aws(
      human,
      "s3",
      "cp",
      up,
      "s3://mounted/dir/up load.txt",
      "--content-type",
      "text/plain",
    );
    expect(put.code, put.stderr).toBe(0);
    const there = await aws(minioDirect(), "s3", "cp", "s3://mounted/dir/up load.txt", "-");
    expect(there.stdout).toBe("uploaded through the mount\n");
  });

  test("DynamoDB on moto through its own mount", async () => {
    const agent = await profile("aws-moto", "aws-moto", "agent-7", ["agents"]);
    const r = await aws(agent, "dynamodb", "list-tables", "--output", "json");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).TableNames).toEqual([]);
  });

  test("boto3 with the mounted endpoint_url", async () => {
    const env = await profile("aws-s3", "aws-s3", "agent-7", ["agents"]);
    const script = `
import boto3
s = boto3.Session(profile_name="custos").client("s3")
print([o["Key"] for o in s.list_objects_v2(Bucket="mounted")["Contents"]])
print(s.get_object(Bucket="mounted", Key="note.txt")["Body"].read().decode())
`;
    const r = await run([deps.AWS_PYTHON, "-c", script], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("note.txt");
    expect(r.stdout).toContain("Arlington");
    expect(r.stdout + r.stderr).not.toContain(SSN);
  });
});

describe("attacks on the mount", () => {
  test("a credential of one connection used at another's mount is refused; MinIO unchanged", async () => {
    // The moto connection's (human) credential at the S3 connection's mount.
    const env = await profile("aws-moto", "aws-s3", "dba@bank.example", ["dba"]);
    const f = join(work, "x.txt");
    writeFileSync(f, "must not land\n");
    const put = await aws(env, "s3", "cp", f, "s3://mounted/cross.txt");
    expect(put.code).not.toBe(0);
    expect(put.stderr).toContain("AccessDenied");
    const head = await aws(
      minioDirect(),
      "s3api",
      "head-object",
      "--bucket",
      "mounted",
      "--key",
      "cross.txt",
    );
    expect(head.code).not.toBe(0);
  });

  test("a signature over the path without the mount prefix does not match; with it, it does", async () => {
    const creds = await mint(g, "aws-s3", await g.token("agent-7", ["agents"]));
    const get = async (signedPath: string) => {
      const date = amzDate(Date.now());
      const headers = {
        host: `127.0.0.1:${g.httpPort}`,
        "x-amz-date": date,
        "x-amz-content-sha256": EMPTY_SHA256,
      };
      const s = sign({
        method: "GET",
        canonicalUri: signedPath,
        query: [],
        headers,
        payloadHash: EMPTY_SHA256,
        scope: { date: date.slice(0, 8), region: "us-east-1", service: "s3" },
        amzDate: date,
        accessKeyId: creds.id,
        secret: creds.secret,
      });
      const res = await fetch(`${mountOf("aws-s3")}/mounted/note.txt`, {
        headers: { ...headers, authorization: s.authorization },
      });
      return { status: res.status, text: await res.text() };
    };
    const wrong = await get("/mounted/note.txt");
    expect(wrong.status).toBe(403);
    expect(wrong.text).toContain("SignatureDoesNotMatch");
    expect(wrong.text).not.toContain("Arlington");
    const right = await get("/aws/aws-s3/mounted/note.txt");
    expect(right.status, right.text).toBe(200);
    expect(right.text).toContain("Arlington");
    expect(right.text).not.toContain(SSN);
  });
});
