// Presigned URLs through the gateway against MinIO: made by `aws s3 presign` and boto3 with gateway
// credentials, fetched by curl. A valid one is verified, decided as the action it names and re-signed
// upstream (the object comes back masked for an agent; a human's presigned PUT lands); tampered, expired,
// over-long and credential-outliving variants are refused, judged by MinIO's state and by counting the
// fixture values in every byte curl received (headers included).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  amzDate,
  canonicalQuery,
  canonicalRequest,
  hmacHex,
  signingKey,
  stringToSign,
} from "../../../src/net/sigv4.ts";
import {
  type AwsDeps,
  type AwsGateway,
  type AwsTargetServer,
  awsDeps,
  awsProfile,
  type Creds,
  directEnv,
  mint,
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
let agentEnv: Record<string, string>;
let humanEnv: Record<string, string>;
const work = mkdtempSync(join(tmpdir(), "custos-presign-"));
const SSN = "078-05-1120";
const EMAIL = "grace.hopper@bank.example";
const REPORT = `report\nssn: ${SSN}\nemail: ${EMAIL}\ncity: Arlington\n`;
const PRIVATE = "private-canary-5f1d2e";

const direct = () => directEnv(minio);
const aws = (env: Record<string, string>, ...args: string[]) => run([deps.AWS_CLI, ...args], env);

/** Every byte curl received (status line, headers, body). */
async function curl(url: string, ...args: string[]): Promise<{ status: number; all: string }> {
  const r = await run(["curl", "-sS", "-i", ...args, url], {});
  const statuses = [...r.stdout.matchAll(/^HTTP\/[\d.]+ (\d{3})/gm)].map((m) => +m[1]!);
  return { status: statuses.filter((s) => s !== 100).at(-1) ?? 0, all: r.stdout + r.stderr };
}

async function presign(env: Record<string, string>, uri: string, seconds = 300): Promise<string> {
  const r = await aws(env, "s3", "presign", uri, "--expires-in", String(seconds));
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** A presigned URL built by hand (for lifetimes the CLI will not make). */
function handPresigned(creds: Creds, path: string, expires: number, at = Date.now()): string {
  const date = amzDate(at);
  const host = `127.0.0.1:${g.awsPort}`;
  const scope = { date: date.slice(0, 8), region: "us-east-1", service: "s3" };
  const q: [string, string][] = [
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${creds.id}/${scope.date}/us-east-1/s3/aws4_request`],
    ["X-Amz-Date", date],
    ["X-Amz-Expires", String(expires)],
    ["X-Amz-SignedHeaders", "host"],
  ];
  const canonical = canonicalRequest({
    method: "GET",
    canonicalUri: path,
    canonicalQuery: canonicalQuery(q),
    headers: [["host", host]],
    payloadHash: "UNSIGNED-PAYLOAD",
  });
  const sig = hmacHex(signingKey(creds.secret, scope), stringToSign(date, scope, canonical));
  return `http://${host}${path}?${canonicalQuery(q)}&X-Amz-Signature=${sig}`;
}

beforeAll(async () => {
  [deps, issuer] = await Promise.all([awsDeps("minio", "python"), startOidcIssuer()]);
  minio = await startMinio();
  g = await startAwsGateway(issuer, {
    s3: { server: minio, services: ["s3"] },
    short: { server: minio, services: ["s3"], extra: { credential_ttl: "4s" } },
  });
  // The AWS CLI v1 and boto3 presign S3 with Signature Version 2 unless told otherwise.
  const extra = "s3 =\n    signature_version = s3v4\n";
  agentEnv = awsProfile(g, "aws-s3", await g.token("agent-7", ["agents"]), { extra });
  humanEnv = awsProfile(g, "aws-s3", await g.token("dba@bank.example", ["dba"]), { extra });
  const report = join(work, "report.txt");
  writeFileSync(report, REPORT);
  const priv = join(work, "private.txt");
  writeFileSync(priv, `${PRIVATE}\n`);
  for (const args of [
    ["s3", "mb", "s3://links"],
    ["s3", "cp", report, "s3://links/report.txt", "--content-type", "text/plain"],
    ["s3", "cp", priv, "s3://links/private.txt", "--content-type", "text/plain"],
  ]) {
    const r = await aws(direct(), ...args);
    expect(r.code, r.stderr).toBe(0);
  }
}, 600_000);

afterAll(async () => {
  await g?.stop();
  await minio?.stop();
  await issuer?.stop();
});

describe("presigned URLs", () => {
  test("`aws s3 presign` + curl: an agent's link reads the object masked, and works again until it expires", async () => {
    const url = await presign(agentEnv, "s3://links/report.txt");
    expect(url).toContain("X-Amz-Signature=");
    for (let i = 0; i < 2; i++) {
      const r = await curl(url);
      expect(r.status, r.all).toBe(200);
      expect(r.all).toContain("Arlington");
      expect(r.all).not.toContain(SSN);
      expect(r.all).not.toContain(EMAIL);
      expect(r.all).not.toContain(minio.accessKeyId);
    }
    // A human's link reads it unmasked (the decision is the presigner's, as for a header signature).
    const h = await curl(await presign(humanEnv, "s3://links/report.txt"));
    expect(h.status).toBe(200);
    expect(h.all).toContain(SSN);
  });

  test("tampered links are refused: another key, a longer lifetime, a changed signature, a dropped parameter", async () => {
    const url = await presign(agentEnv, "s3://links/report.txt");
    const u = new URL(url);
    const variants: string[] = [];
    variants.push(url.replace("/links/report.txt", "/links/private.txt"));
    const longer = new URL(u);
    longer.searchParams.set("X-Amz-Expires", "600");
    variants.push(longer.toString());
    const sig = u.searchParams.get("X-Amz-Signature")!;
    const flipped = new URL(u);
    flipped.searchParams.set("X-Amz-Signature", `${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}`);
    variants.push(flipped.toString());
    const dropped = new URL(u);
    dropped.searchParams.delete("X-Amz-Expires");
    variants.push(dropped.toString());
    const extra = new URL(u);
    extra.searchParams.set("response-content-type", "text/html");
    variants.push(extra.toString());
    for (const v of variants) {
      const r = await curl(v);
      expect(r.status, v).toBeGreaterThanOrEqual(400);
      expect(r.all).not.toContain(PRIVATE);
      expect(r.all).not.toContain("Arlington");
    }
    // A Signature Version 2 link (what the CLI makes by default) is refused with a hint.
    const v2 = await aws(
      awsProfile(g, "aws-s3", await g.token("agent-7", ["agents"])),
      "s3",
      "presign",
      "s3://links/report.txt",
    );
    const v2r = await curl(v2.stdout.trim());
    expect(v2r.status, v2r.all).toBe(400);
    expect(v2r.all).toContain("s3v4");
    expect(v2r.all).not.toContain("Arlington");
    // A link plus an Authorization header is ambiguous and refused.
    const both = await curl(
      url,
      "-H",
      "Authorization: AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
    );
    expect(both.status).toBe(400);
    expect(both.all).not.toContain("Arlington");
  });

  test("an expired link is refused; seven days is the ceiling; a link dies with its credential", async () => {
    const url = await presign(agentEnv, "s3://links/report.txt", 1);
    await Bun.sleep(2100);
    const late = await curl(url);
    expect(late.status).toBe(400);
    expect(late.all).toContain("ExpiredToken");
    expect(late.all).not.toContain("Arlington");
    const creds = await mint(g, "aws-s3", await g.token("agent-7", ["agents"]));
    const week = await curl(handPresigned(creds, "/links/report.txt", 604_800));
    expect(week.status, week.all).toBe(200);
    const over = await curl(handPresigned(creds, "/links/report.txt", 604_801));
    expect(over.status).toBe(400);
    expect(over.all).not.toContain("Arlington");
    const future = await curl(handPresigned(creds, "/links/report.txt", 60, Date.now() + 3_600_000));
    expect(future.status).toBe(403);
    // A one-hour link made with a 4-second credential stops working when the credential does.
    const short = await mint(g, "aws-short", await g.token("agent-7", ["agents"]));
    const link = handPresigned(short, "/links/report.txt", 3600);
    const now = await curl(link);
    expect(now.status, now.all).toBe(200);
    await Bun.sleep(4500);
    const after = await curl(link);
    expect(after.status).toBe(400);
    expect(after.all).toContain("ExpiredToken");
    expect(after.all).not.toContain("Arlington");
  });

  test("boto3's presigned PUT by a human lands; an agent's presigned DeleteBucket is denied", async () => {
    const script = `
import boto3
s = boto3.Session(profile_name="custos").client("s3")
print(s.generate_presigned_url("put_object", Params={"Bucket": "links", "Key": "via-link.txt"}, ExpiresIn=300))
`;
    const h = await run([deps.AWS_PYTHON, "-c", script], humanEnv);
    expect(h.code, h.stderr).toBe(0);
    const body = join(work, "via.txt");
    writeFileSync(body, "put through a presigned link\n");
    const put = await curl(h.stdout.trim(), "-T", body);
    expect(put.status, put.all).toBe(200);
    const there = await aws(direct(), "s3", "cp", "s3://links/via-link.txt", "-");
    expect(there.stdout).toBe("put through a presigned link\n");
    const del = `
import boto3
s = boto3.Session(profile_name="custos").client("s3")
print(s.generate_presigned_url("delete_bucket", Params={"Bucket": "links"}, ExpiresIn=300, HttpMethod="DELETE"))
`;
    const a = await run([deps.AWS_PYTHON, "-c", del], agentEnv);
    expect(a.code, a.stderr).toBe(0);
    const r = await curl(a.stdout.trim(), "-X", "DELETE");
    expect(r.status).toBe(403);
    expect(r.all).toContain("AccessDenied");
    const still = await aws(direct(), "s3api", "head-bucket", "--bucket", "links");
    expect(still.code, still.stderr).toBe(0);
  });
});
