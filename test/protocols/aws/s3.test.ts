// S3 through the gateway with the AWS CLI against MinIO (strict SigV4): listing and reading allowed to
// agents with text objects masked (fixture values counted in every byte the CLI printed) and binary
// objects refused; an agent's upload held for approval and completed after `custos approve`; deleting the
// bucket or changing its ACL denied, judged by MinIO's own state read directly with the gateway's key.
// CUSTOS_S3_TARGET=moto runs the same file against moto's S3 (also SigV4-checking) while MinIO builds.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decideWithCli, pendingRequestId } from "../../support/approver.ts";
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
  startMoto,
} from "../../support/aws.ts";
import { type OidcIssuer, startOidcIssuer } from "../../support/oidc-issuer.ts";

// Each AWS CLI run starts Python and credential_process (a Bun process): seconds apiece on a loaded machine.
setDefaultTimeout(180_000);
let deps: AwsDeps;
let s3: AwsTargetServer;
let issuer: OidcIssuer;
let g: AwsGateway;
let agentEnv: Record<string, string>;
let humanEnv: Record<string, string>;
let approver: string;
const work = mkdtempSync(join(tmpdir(), "custos-s3-"));

const SSN = "078-05-1120";
const EMAIL = "grace.hopper@bank.example";
const CARD = "4111111111111111";
const REPORT = `customer report\nname: Grace, city: Arlington\nssn: ${SSN}\nemail: ${EMAIL}\ncard ${CARD}\n`;

const direct = () => directEnv(s3);
const aws = (env: Record<string, string>, ...args: string[]) => run([deps.AWS_CLI, ...args], env);
const file = (name: string, content: string | Uint8Array) => {
  const p = join(work, name);
  writeFileSync(p, content);
  return p;
};

beforeAll(async () => {
  const moto = process.env.CUSTOS_S3_TARGET === "moto";
  [deps, issuer] = await Promise.all([awsDeps("python"), startOidcIssuer()]);
  s3 = await (moto ? startMoto() : startMinio());
  g = await startAwsGateway(issuer, { s3: { server: s3, services: ["s3"] } });
  agentEnv = awsProfile(g, "aws-s3", await g.token("agent-7", ["agents"]));
  humanEnv = awsProfile(g, "aws-s3", await g.token("dba@bank.example", ["dba"]));
  approver = await g.token("alice@bank.example", ["approvers"]);
  const d = direct();
  for (const args of [
    ["s3", "mb", "s3://reports"],
    [
      "s3",
      "cp",
      file("t.txt", "plain"),
      "s3://reports/tagged.txt",
      "--content-type",
      "text/plain",
      "--metadata",
      `ssn=${SSN},owner=ops`,
    ],
    ["s3", "cp", file("customers.txt", REPORT), "s3://reports/customers.txt", "--content-type", "text/plain"],
    [
      "s3",
      "cp",
      file("photo.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])),
      "s3://reports/photo.png",
      "--content-type",
      "image/png",
    ],
    [
      "s3",
      "cp",
      file("k.txt", "a key with spaces"),
      "s3://reports/dir/with space+plus.txt",
      "--content-type",
      "text/plain",
    ],
  ]) {
    const r = await aws(d, ...args);
    expect(r.code, r.stderr).toBe(0);
  }
}, 180_000);

afterAll(async () => {
  await g?.stop();
  await s3?.stop();
  await issuer?.stop();
});

describe("reads", () => {
  test("an agent lists buckets and objects", async () => {
    const buckets = await aws(agentEnv, "s3", "ls");
    expect(buckets.code, buckets.stderr).toBe(0);
    expect(buckets.stdout).toContain("reports");
    const objects = await aws(agentEnv, "s3", "ls", "s3://reports", "--recursive");
    expect(objects.code, objects.stderr).toBe(0);
    expect(objects.stdout).toContain("customers.txt");
    expect(objects.stdout).toContain("dir/with space+plus.txt");
  });

  test("an agent's text object comes back masked; the harmless text is intact", async () => {
    const r = await aws(agentEnv, "s3", "cp", "s3://reports/customers.txt", "-");
    expect(r.code, r.stderr).toBe(0);
    const all = r.stdout + r.stderr;
    expect(all).not.toContain(SSN);
    expect(all).not.toContain(EMAIL);
    expect(all).not.toContain(CARD);
    expect(all).toContain("city: Arlington");
  });

  test("a key with spaces and + reaches the same object", async () => {
    const r = await aws(agentEnv, "s3", "cp", "s3://reports/dir/with space+plus.txt", "-");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("a key with spaces");
  });

  test("a binary object is refused to an agent and relayed to a human", async () => {
    const dest = join(work, "got.png");
    const agent = await aws(agentEnv, "s3", "cp", "s3://reports/photo.png", dest);
    expect(agent.code).not.toBe(0);
    expect(agent.stderr).toMatch(/403|Forbidden|AccessDenied/);
    const human = await aws(humanEnv, "s3", "cp", "s3://reports/photo.png", dest);
    expect(human.code, human.stderr).toBe(0);
    expect(new Uint8Array(await Bun.file(dest).arrayBuffer())).toEqual(
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]),
    );
  });

  test("object metadata is masked for an agent; a ranged read of a text object is refused to it", async () => {
    const head = await aws(agentEnv, "s3api", "head-object", "--bucket", "reports", "--key", "tagged.txt");
    expect(head.code, head.stderr).toBe(0);
    expect(head.stdout + head.stderr).not.toContain(SSN);
    expect(JSON.parse(head.stdout).Metadata.owner).toBe("ops");
    const range = await aws(
      agentEnv,
      "s3api",
      "get-object",
      "--bucket",
      "reports",
      "--key",
      "customers.txt",
      "--range",
      "bytes=40-60",
      join(work, "r.txt"),
    );
    expect(range.code).not.toBe(0);
    expect(range.stderr).toContain("AccessDenied");
    const human = await aws(humanEnv, "s3api", "head-object", "--bucket", "reports", "--key", "tagged.txt");
    expect(JSON.parse(human.stdout).Metadata.ssn).toBe(SSN);
  });

  test("a human reads the object unmasked", async () => {
    const r = await aws(humanEnv, "s3", "cp", "s3://reports/customers.txt", "-");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(REPORT);
  });
});

const pending = (text: string) => pendingRequestId(g.httpPort, approver, text);

describe("writes", () => {
  test("an agent's upload is held, approved with `custos approve`, and then lands", async () => {
    const upload = aws(
      agentEnv,
      "s3",
      "cp",
      file("new.txt", "approved content\n"),
      "s3://reports/new.txt",
      "--content-type",
      "text/plain",
    );
    const id = await pending("s3:PutObject arn:aws:s3:::reports/new.txt");
    // Held: not there yet.
    const before = await aws(direct(), "s3api", "head-object", "--bucket", "reports", "--key", "new.txt");
    expect(before.code).not.toBe(0);
    await decideWithCli(g.httpPort, "approve", id, approver, "ticket 7");
    const done = await upload;
    expect(done.code, done.stderr).toBe(0);
    const after = await aws(direct(), "s3", "cp", "s3://reports/new.txt", "-");
    expect(after.stdout).toBe("approved content\n");
  }, 90_000);

  test("deleting the bucket and changing its ACL are denied to an agent; MinIO still has both", async () => {
    const rb = await aws(agentEnv, "s3api", "delete-bucket", "--bucket", "reports");
    expect(rb.code).not.toBe(0);
    expect(rb.stderr).toContain("AccessDenied");
    const acl = await aws(agentEnv, "s3api", "put-bucket-acl", "--bucket", "reports", "--acl", "public-read");
    expect(acl.code).not.toBe(0);
    expect(acl.stderr).toContain("AccessDenied");
    const still = await aws(direct(), "s3api", "head-bucket", "--bucket", "reports");
    expect(still.code, still.stderr).toBe(0);
    // Reading the ACL is a read, allowed.
    const get = await aws(agentEnv, "s3api", "get-bucket-acl", "--bucket", "reports");
    expect(get.code, get.stderr).toBe(0);
  });

  test("a human's multi-object delete (POST ?delete) runs", async () => {
    const r = await aws(
      humanEnv,
      "s3api",
      "delete-objects",
      "--bucket",
      "reports",
      "--delete",
      '{"Objects":[{"Key":"new.txt"}]}',
    );
    expect(r.code, r.stderr).toBe(0);
    const gone = await aws(direct(), "s3api", "head-object", "--bucket", "reports", "--key", "new.txt");
    expect(gone.code).not.toBe(0);
  });
});
