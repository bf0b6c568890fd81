// AWS APIs through the gateway against moto's server with authentication enforced: DynamoDB items masked
// for agents (judged in every byte the CLI and boto3 received), IAM changes denied (judged by moto's own
// state), SQS queue URLs rewritten to the gateway, STS answering as the gateway's IAM user. Real AWS CLI,
// real boto3, real moto.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
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

// Each AWS CLI run starts Python and credential_process (a Bun process): seconds apiece on a loaded machine.
setDefaultTimeout(180_000);
let deps: AwsDeps;
let moto: AwsTargetServer;
let issuer: OidcIssuer;
let g: AwsGateway;
let agentEnv: Record<string, string>;
let humanEnv: Record<string, string>;

const SSN = "078-05-1120";
const EMAIL = "grace.hopper@bank.example";
const CARD = "4111 1111 1111 1111";

/** Direct to moto with the gateway's own key: the fixture, and the judge of effects. */
const direct = () => directEnv(moto);

// The CLI's SQS client resolves the legacy global endpoint before the profile's endpoint_url: named here.
const aws = (env: Record<string, string>, ...args: string[]) =>
  run(
    [
      deps.AWS_CLI,
      ...args,
      "--output",
      "json",
      ...(args[0] === "sqs" && env.AWS_CONFIG_FILE
        ? ["--endpoint-url", `http://127.0.0.1:${g.awsPort}`]
        : []),
    ],
    env,
  );

beforeAll(async () => {
  [deps, issuer] = await Promise.all([awsDeps("python"), startOidcIssuer()]);
  moto = await startMoto();
  g = await startAwsGateway(issuer, { moto: { server: moto, services: ["dynamodb", "sqs", "sts", "iam"] } });
  agentEnv = awsProfile(g, "aws-moto", await g.token("agent-7", ["agents"]));
  humanEnv = awsProfile(g, "aws-moto", await g.token("dba@bank.example", ["dba"]));
  const d = direct();
  const mk = await aws(
    d,
    "dynamodb",
    "create-table",
    "--table-name",
    "customers",
    "--attribute-definitions",
    "AttributeName=id,AttributeType=S",
    "--key-schema",
    "AttributeName=id,KeyType=HASH",
    "--billing-mode",
    "PAY_PER_REQUEST",
  );
  expect(mk.code, mk.stderr).toBe(0);
  const item = JSON.stringify({
    id: { S: "c1" },
    email: { S: EMAIL },
    ssn: { S: SSN },
    memo: { S: `card on file ${CARD}` },
    city: { S: "Arlington" },
  });
  const put = await aws(d, "dynamodb", "put-item", "--table-name", "customers", "--item", item);
  expect(put.code, put.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await g?.stop();
  await moto?.stop();
  await issuer?.stop();
});

describe("DynamoDB through the gateway", () => {
  test("an agent's get-item and scan come back with regulated values masked in every byte", async () => {
    const get = await aws(
      agentEnv,
      "dynamodb",
      "get-item",
      "--table-name",
      "customers",
      "--key",
      '{"id":{"S":"c1"}}',
    );
    expect(get.code, get.stderr).toBe(0);
    const scan = await aws(agentEnv, "dynamodb", "scan", "--table-name", "customers");
    expect(scan.code, scan.stderr).toBe(0);
    for (const out of [get, scan]) {
      const all = out.stdout + out.stderr;
      expect(all).not.toContain(SSN);
      expect(all).not.toContain(EMAIL);
      expect(all).not.toContain("4111 1111 1111 1111");
      // The harmless attribute is untouched: masking is not refusing.
      expect(all).toContain("Arlington");
    }
    const item = JSON.parse(get.stdout).Item;
    expect(item.id.S).toBe("c1");
    expect(item.ssn.S).not.toBe(SSN);
  });

  test("a human (unmasked identity) reads the real values", async () => {
    const get = await aws(
      humanEnv,
      "dynamodb",
      "get-item",
      "--table-name",
      "customers",
      "--key",
      '{"id":{"S":"c1"}}',
    );
    expect(get.code, get.stderr).toBe(0);
    expect(JSON.parse(get.stdout).Item.ssn.S).toBe(SSN);
  });
});

describe("IAM and STS", () => {
  test("an IAM change is denied and moto's IAM is unchanged", async () => {
    for (const env of [agentEnv, humanEnv]) {
      const r = await aws(env, "iam", "create-user", "--user-name", "backdoor");
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("AccessDenied");
    }
    const users = await aws(direct(), "iam", "list-users");
    expect(users.stdout).not.toContain("backdoor");
  });

  test("an agent may list IAM users (a read)", async () => {
    const r = await aws(agentEnv, "iam", "list-users");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("custos-gateway");
  });

  test("get-caller-identity answers as the gateway's IAM user, and session credentials are never minted", async () => {
    const who = await aws(agentEnv, "sts", "get-caller-identity");
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout).Arn).toContain("custos-gateway");
    const tok = await aws(humanEnv, "sts", "get-session-token");
    expect(tok.code).not.toBe(0);
    expect(tok.stdout + tok.stderr).not.toContain(moto.secretAccessKey);
  });
});

describe("SQS", () => {
  test("queue URLs point at the gateway, and a send through them needs approval for agents", async () => {
    const mk = await aws(humanEnv, "sqs", "create-queue", "--queue-name", "jobs");
    expect(mk.code, mk.stderr).toBe(0);
    const url = JSON.parse(mk.stdout).QueueUrl as string;
    expect(url.startsWith(`http://127.0.0.1:${g.awsPort}/`)).toBe(true);
    const send = await aws(
      humanEnv,
      "sqs",
      "send-message",
      "--queue-url",
      url,
      "--message-body",
      `ssn ${SSN}`,
    );
    expect(send.code, send.stderr).toBe(0);
    const list = await aws(agentEnv, "sqs", "list-queues");
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`127.0.0.1:${g.awsPort}`);
    expect(list.stdout).not.toContain(`:${moto.port}`);
  });
});

describe("boto3", () => {
  test("boto3 with the credential_process profile reads masked items and is refused an IAM change", async () => {
    const script = `
import boto3, json, botocore.exceptions as e
s = boto3.Session(profile_name="custos")
ddb = s.client("dynamodb")
item = ddb.get_item(TableName="customers", Key={"id": {"S": "c1"}})["Item"]
print(json.dumps(item))
try:
    s.client("iam").attach_user_policy(UserName="custos-gateway", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    print("IAM-CHANGED")
except e.ClientError as err:
    print("refused", err.response["Error"]["Code"])
`;
    const r = await run([deps.AWS_PYTHON, "-c", script], agentEnv);
    expect(r.code, r.stderr).toBe(0);
    const all = r.stdout + r.stderr;
    expect(all).not.toContain(SSN);
    expect(all).not.toContain(EMAIL);
    expect(all).toContain("Arlington");
    expect(r.stdout).toContain("refused AccessDenied");
    expect(r.stdout).not.toContain("IAM-CHANGED");
  });
});
