// `role_arn` connections against moto (authentication and IAM policies enforced): the gateway assumes the
// role per session with SourceIdentity = the caller's subject and RoleSessionName = custos-<session>, signs
// the upstream call with the temporary credentials and their session token, reuses them while fresh, and
// fails closed when AssumeRole is refused. Judged by moto's own recorder (the requests moto received, with
// their Authorization and body) and by what moto answers (get-caller-identity names the assumed role).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sourceIdentityOf } from "../../../src/protocols/aws/assume-role.ts";
import {
  type AwsDeps,
  type AwsGateway,
  type AwsTargetServer,
  awsDeps,
  awsProfile,
  directEnv,
  run,
  startAwsGateway,
  startMoto,
} from "../../support/aws.ts";
import { type OidcIssuer, startOidcIssuer } from "../../support/oidc-issuer.ts";

setDefaultTimeout(180_000);
let deps: AwsDeps;
let moto: AwsTargetServer;
let issuer: OidcIssuer;
let g: AwsGateway;
let recordDir: string;
let weak: { id: string; secret: string };

const ROLE = "arn:aws:iam::123456789012:role/agents";
const ODD_SUBJECT = "auth0|Agent Nine/ops";

interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | null;
  body_encoded: boolean;
}

const direct = () => directEnv(moto);

const aws = (env: Record<string, string>, ...args: string[]) =>
  run([deps.AWS_CLI, ...args, "--output", "json"], env);

/** What moto received since it started recording, oldest first. */
function recorded(): Recorded[] {
  let text: string;
  try {
    text = readFileSync(join(recordDir, "moto.rec"), "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Recorded)
    .map((r) => ({
      ...r,
      body: r.body_encoded && r.body ? Buffer.from(r.body, "base64").toString() : r.body,
    }));
}

const header = (r: Recorded, name: string) =>
  Object.entries(r.headers).find(([k]) => k.toLowerCase() === name)?.[1] ?? null;
const actionOf = (r: Recorded) =>
  new URLSearchParams(r.body ?? "").get("Action") ?? header(r, "x-amz-target") ?? `${r.method} ${r.url}`;

beforeAll(async () => {
  recordDir = mkdtempSync(join(tmpdir(), "custos-motorec-"));
  [deps, issuer] = await Promise.all([awsDeps("python"), startOidcIssuer()]);
  moto = await startMoto({ MOTO_RECORDER_FILEPATH: join(recordDir, "moto.rec") });
  const d = direct();
  // The role the gateway assumes (allowed everything), and a user whose key may not call sts:AssumeRole.
  const trust = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }],
  });
  for (const args of [
    ["iam", "create-role", "--role-name", "agents", "--assume-role-policy-document", trust],
    [
      "iam",
      "attach-role-policy",
      "--role-name",
      "agents",
      "--policy-arn",
      "arn:aws:iam::123456789012:policy/admin",
    ],
    ["iam", "create-user", "--user-name", "no-assume"],
    [
      "iam",
      "put-user-policy",
      "--user-name",
      "no-assume",
      "--policy-name",
      "ddb-only",
      "--policy-document",
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "dynamodb:*", Resource: "*" }],
      }),
    ],
  ]) {
    const r = await aws(d, ...args);
    expect(r.code, r.stderr).toBe(0);
  }
  const key = await aws(d, "iam", "create-access-key", "--user-name", "no-assume");
  expect(key.code, key.stderr).toBe(0);
  const k = JSON.parse(key.stdout).AccessKey;
  weak = { id: k.AccessKeyId, secret: k.SecretAccessKey };
  // The weak key itself may list tables directly (so a refusal through the gateway is the role's doing).
  const own = await aws(
    { ...d, AWS_ACCESS_KEY_ID: weak.id, AWS_SECRET_ACCESS_KEY: weak.secret },
    "dynamodb",
    "list-tables",
  );
  expect(own.code, own.stderr).toBe(0);
  g = await startAwsGateway(issuer, {
    role: { server: moto, services: ["dynamodb", "sts"], target: { role_arn: ROLE } },
    denied: { server: moto, services: ["dynamodb", "sts"], target: { role_arn: ROLE }, key: weak },
  });
  const start = await fetch(`${moto.url}/moto-api/recorder/start-recording`, { method: "POST" });
  expect(start.ok).toBe(true);
}, 180_000);

afterAll(async () => {
  await g?.stop();
  await moto?.stop();
  await issuer?.stop();
  if (recordDir) rmSync(recordDir, { recursive: true, force: true });
});

describe("role_arn: upstream calls as the assumed role", () => {
  test("moto sees the assumed role (with SourceIdentity = the subject) sign the call, not the gateway's key", async () => {
    const env = awsProfile(g, "aws-role", await g.token("agent-7", ["agents"]));
    const before = recorded().length;
    const who = await aws(env, "sts", "get-caller-identity");
    expect(who.code, who.stderr).toBe(0);
    const arn = JSON.parse(who.stdout).Arn as string;
    expect(arn).toMatch(/^arn:aws:sts::123456789012:assumed-role\/agents\/custos-[0-9a-f-]{36}$/);
    expect(arn).not.toContain("custos-gateway");
    const list = await aws(env, "dynamodb", "list-tables");
    expect(list.code, list.stderr).toBe(0);
    const seen = recorded().slice(before);
    const assumes = seen.filter((r) => actionOf(r) === "AssumeRole");
    // One AssumeRole for both calls: the temporary credentials are cached for the session.
    expect(assumes.length).toBe(1);
    const form = new URLSearchParams(assumes[0]!.body ?? "");
    expect(form.get("RoleArn")).toBe(ROLE);
    expect(form.get("SourceIdentity")).toBe("agent-7");
    expect(arn.endsWith(`/${form.get("RoleSessionName")}`)).toBe(true);
    // The AssumeRole itself is signed with the connection's key; every other call with the role's.
    expect(header(assumes[0]!, "authorization")).toContain(`Credential=${moto.accessKeyId}/`);
    const calls = seen.filter((r) => actionOf(r) !== "AssumeRole");
    expect(calls.map(actionOf)).toEqual(["GetCallerIdentity", "DynamoDB_20120810.ListTables"]);
    for (const c of calls) {
      expect(header(c, "authorization")).not.toContain(moto.accessKeyId);
      expect(header(c, "authorization")).toMatch(/Credential=(ASIA|FSIA)[A-Z0-9]+\//);
      expect(header(c, "x-amz-security-token")?.length ?? 0).toBeGreaterThan(20);
    }
    // Nothing of the role's secret or token reaches the client.
    const temp = /Credential=([A-Z0-9]+)\//.exec(header(calls[0]!, "authorization")!)![1]!;
    const token = header(calls[0]!, "x-amz-security-token")!;
    for (const out of [who, list]) {
      const all = out.stdout + out.stderr;
      expect(all).not.toContain(token);
      expect(all).not.toContain(temp);
      expect(all).not.toContain(moto.accessKeyId);
    }
  });

  test("a subject outside AWS's charset is sanitised into a SourceIdentity AWS accepts, distinct per subject", async () => {
    const env = awsProfile(g, "aws-role", await g.token(ODD_SUBJECT, ["agents"]));
    const before = recorded().length;
    const who = await aws(env, "sts", "get-caller-identity");
    expect(who.code, who.stderr).toBe(0);
    const assume = recorded()
      .slice(before)
      .find((r) => actionOf(r) === "AssumeRole")!;
    const sent = new URLSearchParams(assume.body ?? "").get("SourceIdentity")!;
    expect(sent).toBe(sourceIdentityOf(ODD_SUBJECT));
    expect(sent).toMatch(/^[\w+=,.@-]{2,64}$/);
    expect(sent.startsWith("auth0_Agent_Nine_ops+")).toBe(true);
    // Look-alikes: a subject that sanitises to the same text still gets its own SourceIdentity.
    expect(sourceIdentityOf("auth0_Agent_Nine_ops")).toBe("auth0_Agent_Nine_ops");
    expect(sourceIdentityOf("auth0:Agent:Nine:ops")).not.toBe(sent);
    expect(sourceIdentityOf("x".repeat(200)).length).toBeLessThanOrEqual(64);
    expect(sourceIdentityOf("a")).toMatch(/^[\w+=,.@-]{2,64}$/);
  });

  test("a refused AssumeRole fails the call closed: AWS-shaped AccessDenied, nothing sent with the plain key", async () => {
    const env = awsProfile(g, "aws-denied", await g.token("agent-8", ["agents"]));
    const before = recorded().length;
    for (const args of [
      ["dynamodb", "list-tables"],
      ["sts", "get-caller-identity"],
    ]) {
      const r = await aws(env, ...args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("AccessDenied");
      expect(r.stderr).toContain("sts:AssumeRole");
      expect(r.stdout + r.stderr).not.toContain(weak.secret);
    }
    const seen = recorded().slice(before);
    // moto got AssumeRole attempts only: the weak key (allowed dynamodb:*) was never used for the call.
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((r) => actionOf(r) === "AssumeRole")).toBe(true);
    // The gateway is still up and the working connection unaffected.
    const ok = await aws(
      awsProfile(g, "aws-role", await g.token("agent-7", ["agents"])),
      "dynamodb",
      "list-tables",
    );
    expect(ok.code, ok.stderr).toBe(0);
  });
});
