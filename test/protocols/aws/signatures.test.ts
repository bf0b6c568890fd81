// The caller's SigV4 is verified before anything else: a tampered body or header, a replayed request, a
// date outside the window, an expired or unknown credential, an unsigned x-amz-* header are refused, each
// judged by its effect on moto's real table (read directly with the gateway's own key); properly signed
// look-alikes pass. And the target sees only the gateway's credentials: every byte moto received and every
// byte clients received are scanned for the other side's keys.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type AwsGateway,
  type AwsTargetServer,
  type Creds,
  mint,
  send,
  signedDynamo,
  startAwsGateway,
  startMoto,
  tapProxy,
} from "../../support/aws.ts";
import { type OidcIssuer, startOidcIssuer } from "../../support/oidc-issuer.ts";

let moto: AwsTargetServer;
let tap: Awaited<ReturnType<typeof tapProxy>>;
let issuer: OidcIssuer;
let g: AwsGateway;
let human: Creds;
let humanToken: string;
const clientBytes: string[] = [];
let gwBase: string;
const upstream = () => ({ id: moto.accessKeyId, secret: moto.secretAccessKey });

async function call(c: ReturnType<typeof signedDynamo>) {
  const r = await send(c);
  clientBytes.push(r.text);
  return r;
}

async function directItem(id: string): Promise<Record<string, any> | null> {
  const r = await send(
    signedDynamo(moto.url, upstream(), "GetItem", {
      TableName: "ledger",
      Key: { id: { S: id } },
      ConsistentRead: true,
    }),
  );
  expect(r.status).toBe(200);
  return (JSON.parse(r.text).Item as Record<string, any> | undefined) ?? null;
}

beforeAll(async () => {
  issuer = await startOidcIssuer();
  moto = await startMoto();
  tap = await tapProxy(moto.port);
  const tapped = { ...moto, url: `http://127.0.0.1:${tap.port}` };
  g = await startAwsGateway(issuer, {
    moto: { server: tapped, services: ["dynamodb"] },
    short: { server: tapped, services: ["dynamodb"], extra: { credential_ttl: "2s" } },
  });
  gwBase = `http://127.0.0.1:${g.awsPort}`;
  humanToken = await g.token("dba@bank.example", ["dba"]);
  human = await mint(g, "aws-moto", humanToken);
  const mk = await send(
    signedDynamo(moto.url, upstream(), "CreateTable", {
      TableName: "ledger",
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  expect(mk.status, mk.text).toBe(200);
}, 60_000);

afterAll(async () => {
  await g?.stop();
  tap?.stop();
  await moto?.stop();
  await issuer?.stop();
});

const put = (id: string) => ({ TableName: "ledger", Item: { id: { S: id }, amount: { N: "10" } } });

describe("caller signatures", () => {
  test("a properly signed write lands (the look-alike every attack below is measured against)", async () => {
    const r = await call(signedDynamo(gwBase, human, "PutItem", put("ok-1")));
    expect(r.status, r.text).toBe(200);
    expect(await directItem("ok-1")).not.toBeNull();
  });

  test("a body altered after signing is refused and nothing is written", async () => {
    const c = signedDynamo(gwBase, human, "PutItem", put("tamper-a"));
    c.body = c.body.replace("tamper-a", "tamper-b");
    const r = await call(c);
    expect(r.status).toBe(403);
    expect(r.text).toContain("InvalidSignatureException");
    expect(await directItem("tamper-a")).toBeNull();
    expect(await directItem("tamper-b")).toBeNull();
  });

  test("an operation swapped in X-Amz-Target after signing is refused", async () => {
    await call(signedDynamo(gwBase, human, "PutItem", put("keep-1")));
    const c = signedDynamo(gwBase, human, "GetItem", { TableName: "ledger", Key: { id: { S: "keep-1" } } });
    c.headers["x-amz-target"] = "DynamoDB_20120810.DeleteItem";
    const r = await call(c);
    expect(r.status).toBe(403);
    expect(await directItem("keep-1")).not.toBeNull();
  });

  test("an unsigned x-amz-* header added to a signed request is refused", async () => {
    const c = signedDynamo(gwBase, human, "PutItem", put("unsigned-h"));
    c.headers["x-amz-copy-source"] = "other/secret";
    const r = await call(c);
    expect(r.status).toBe(400);
    expect(await directItem("unsigned-h")).toBeNull();
  });

  test("a replayed request is refused: the counter moved once", async () => {
    await call(
      signedDynamo(gwBase, human, "PutItem", {
        TableName: "ledger",
        Item: { id: { S: "ctr" }, n: { N: "0" } },
      }),
    );
    const inc = signedDynamo(gwBase, human, "UpdateItem", {
      TableName: "ledger",
      Key: { id: { S: "ctr" } },
      UpdateExpression: "ADD n :one",
      ExpressionAttributeValues: { ":one": { N: "1" } },
    });
    const first = await call(inc);
    expect(first.status, first.text).toBe(200);
    const again = await call({ ...inc });
    expect(again.status).toBe(403);
    expect(again.text).toContain("already used");
    expect((await directItem("ctr"))!.n.N).toBe("1");
  });

  test("a request dated outside the window is refused, in the past and in the future", async () => {
    for (const skew of [-10 * 60_000, 10 * 60_000]) {
      const r = await call(
        signedDynamo(gwBase, human, "PutItem", put(`skew${skew}`), { now: Date.now() + skew }),
      );
      expect(r.status).toBe(403);
      expect(r.text).toContain("RequestTimeTooSkewed");
      expect(await directItem(`skew${skew}`)).toBeNull();
    }
    // Within the window (a client's clock a minute off) it is accepted.
    const near = await call(
      signedDynamo(gwBase, human, "PutItem", put("skew-near"), { now: Date.now() - 60_000 }),
    );
    expect(near.status, near.text).toBe(200);
  });

  test("an expired credential is refused", async () => {
    const short = await mint(g, "aws-short", humanToken);
    const before = await call(signedDynamo(gwBase, short, "PutItem", put("short-1")));
    expect(before.status, before.text).toBe(200);
    await Bun.sleep(2500);
    const after = await call(signedDynamo(gwBase, short, "PutItem", put("short-2")));
    expect(after.status).toBe(400);
    expect(after.text).toContain("ExpiredToken");
    expect(await directItem("short-2")).toBeNull();
  });

  test("an unknown key id, and a real key id with a guessed secret, are refused", async () => {
    const unknown = await call(
      signedDynamo(gwBase, { id: "CSTSAAAAAAAAAAAAAAAA", secret: "x" }, "PutItem", put("u-1")),
    );
    expect(unknown.status).toBe(403);
    expect(unknown.text).toContain("UnrecognizedClientException");
    const guessed = await call(
      // The last character changed (to "x", or "y" when it already is "x": 1 in 64 secrets end in x).
      signedDynamo(
        gwBase,
        { id: human.id, secret: `${human.secret.slice(0, -1)}${human.secret.endsWith("x") ? "y" : "x"}` },
        "PutItem",
        put("u-2"),
      ),
    );
    expect(guessed.status).toBe(403);
    // The target's own key is no key at the gateway.
    const theirs = await call(signedDynamo(gwBase, upstream(), "PutItem", put("u-3")));
    expect(theirs.status).toBe(403);
    for (const id of ["u-1", "u-2", "u-3"]) expect(await directItem(id)).toBeNull();
  });

  test("a region other than the connection's is refused", async () => {
    const r = await call(signedDynamo(gwBase, human, "PutItem", put("region"), { region: "eu-west-1" }));
    expect(r.status).toBe(400);
    expect(await directItem("region")).toBeNull();
  });

  test("minting needs a valid identity token", async () => {
    const bad = await fetch(`http://127.0.0.1:${g.httpPort}/aws/credentials`, {
      method: "POST",
      headers: { authorization: "Bearer not-a-token", "content-type": "application/json" },
      body: JSON.stringify({ connection: "aws-moto" }),
    });
    expect(bad.status).toBe(401);
    const unknown = await fetch(`http://127.0.0.1:${g.httpPort}/aws/credentials`, {
      method: "POST",
      headers: { authorization: `Bearer ${humanToken}`, "content-type": "application/json" },
      body: JSON.stringify({ connection: "aws-nope" }),
    });
    expect(unknown.status).toBeGreaterThanOrEqual(400);
  });
});

describe("whose credentials reach whom", () => {
  test("moto saw only the gateway's key; clients never saw it or its secret", async () => {
    const toTarget = tap.sent().toString("latin1");
    expect(toTarget).toContain(`Credential=${moto.accessKeyId}/`);
    expect(toTarget).not.toContain(human.id);
    expect(toTarget).not.toContain(humanToken);
    expect(toTarget).not.toContain("CSTS");
    const got = clientBytes.join("\n");
    expect(got.length).toBeGreaterThan(0);
    expect(got).not.toContain(moto.secretAccessKey);
    expect(got).not.toContain(moto.accessKeyId);
  });
});

describe("the record", () => {
  test("each call is a statement event naming service, action, resource, decision and status; no secret is logged", async () => {
    const { allEvents, withStore } = await import("../../support/audit-read.ts");
    // biome-ignore lint/suspicious/noExplicitAny: withStore reads only the recorder and the data dir.
    const events = await withStore(g as any, (s) => allEvents(s));
    const calls = events.filter((e) => e.type === "statement" && String(e.data.text).startsWith("dynamodb:"));
    const put = calls.find(
      (e) =>
        e.data.text === "dynamodb:PutItem arn:aws:dynamodb:us-east-1::table/ledger" && e.data.tag === "200",
    );
    expect(put?.data.action).toBe("allow");
    expect(put?.data.operation).toBe("PutItem");
    expect(put?.data.status).toBe(200);
    expect(events.some((e) => e.type === "aws.credential_issued" && e.data.access_key_id === human.id)).toBe(
      true,
    );
    const all = JSON.stringify(events, (_k, v) =>
      v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : v,
    );
    expect(all).not.toContain(human.secret);
    expect(all).not.toContain(moto.secretAccessKey);
    expect(all).not.toContain(humanToken);
  });
});
