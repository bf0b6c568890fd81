// `<conn>__call` end to end: the official TypeScript SDK client at /mcp, MinIO (strict SigV4) behind the
// gateway's AWS connection. Each call is signed with a key the gateway minted for the caller's own token
// and goes through the AWS listener on loopback, so it is judged like an AWS SDK's call: text objects
// masked (fixture values counted in every byte the MCP client received), binary objects refused to an
// agent, destructive calls denied (MinIO's own state read directly with the target's key), an upload held,
// approved from the CLI and landed once.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { openStore } from "../../src/audit/store.ts";
import { amzDate, sha256Hex, sign } from "../../src/net/sigv4.ts";
import { decideWithCli } from "../support/approver.ts";
import { allEvents } from "../support/audit-read.ts";
import { type AwsGateway, type AwsTargetServer, startAwsGateway, startMinio } from "../support/aws.ts";
import { dataDirBytes } from "../support/data-dir-files.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { mcpClient, type ToolText, textOf } from "./support.ts";

setDefaultTimeout(120_000);
let s3: AwsTargetServer;
let issuer: OidcIssuer;
let g: AwsGateway;
let agent: string;
let human: string;
let approver: string;

const SSN = "078-05-1120";
const EMAIL = "grace.hopper@bank.example";
const CARD = "4111111111111111";
const REPORT = `customer report\nname: Grace, city: Arlington\nssn: ${SSN}\nemail: ${EMAIL}\ncard ${CARD}\n`;
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 7, 7, 7, 7, 7, 7, 7, 7]);

type CallResult = ToolText & {
  structuredContent: { status: number; body: string; content_type: string | null };
};

/** Straight to MinIO with the target's own key: the fixture, and the judge of effects. */
async function direct(method: string, path: string, body?: Uint8Array | string, contentType?: string) {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : (body ?? new Uint8Array(0));
  const date = amzDate(Date.now());
  const payloadHash = sha256Hex(bytes);
  const headers: Record<string, string> = {
    host: new URL(s3.url).host,
    "x-amz-date": date,
    "x-amz-content-sha256": payloadHash,
    ...(contentType ? { "content-type": contentType } : {}),
  };
  const s = sign({
    method,
    canonicalUri: path,
    query: [],
    headers,
    payloadHash,
    scope: { date: date.slice(0, 8), region: "us-east-1", service: "s3" },
    amzDate: date,
    accessKeyId: s3.accessKeyId,
    secret: s3.secretAccessKey,
  });
  const res = await fetch(`${s3.url}${path}`, {
    method,
    headers: { ...headers, authorization: s.authorization },
    ...(bytes.length > 0 ? { body: Buffer.from(bytes) } : {}),
  });
  return { status: res.status, text: await res.text() };
}

beforeAll(async () => {
  issuer = await startOidcIssuer();
  s3 = await startMinio();
  g = await startAwsGateway(issuer, { s3: { server: s3, services: ["s3"] } });
  agent = await g.token("agent-7", ["agents"]);
  human = await g.token("dba@bank.example", ["dba"]);
  approver = await g.token("alice@bank.example", ["approvers"]);
  expect((await direct("PUT", "/reports")).status).toBe(200);
  expect((await direct("PUT", "/reports/customers.txt", REPORT, "text/plain")).status).toBe(200);
  expect((await direct("PUT", "/reports/photo.png", PNG, "image/png")).status).toBe(200);
  // On a fresh machine MinIO is built first (scripts/setup-aws-deps: several minutes).
}, 900_000);

async function pendingId(text: string): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const pending = await g.gw.approvals.list({ status: "pending" });
    const id = pending.find((p) => p.statementText === text)?.id;
    if (id) return id;
    await Bun.sleep(100);
  }
  throw new Error(`no pending request for ${text}`);
}

afterAll(async () => {
  await g?.stop();
  await s3?.stop();
  await issuer?.stop();
});

const call = async (
  c: Awaited<ReturnType<typeof mcpClient>>,
  args: Record<string, unknown>,
  timeout = 60_000,
) =>
  (await c.client.callTool({ name: "aws-s3__call", arguments: { service: "s3", ...args } }, undefined, {
    timeout,
  })) as CallResult;

describe("aws-s3__call", () => {
  test("an agent lists and reads: text masked, the harmless text intact; a human reads it unmasked", async () => {
    const c = await mcpClient(g.httpPort, agent);
    expect((await c.client.listTools()).tools.map((t) => t.name)).toEqual(["aws-s3__call"]);
    const list = await call(c, { path: "/reports", query: { "list-type": "2" } });
    expect(list.structuredContent.status).toBe(200);
    expect(list.structuredContent.body).toContain("customers.txt");
    const obj = await call(c, { path: "/reports/customers.txt" });
    expect(obj.structuredContent.status).toBe(200);
    expect(obj.structuredContent.body).toContain("city: Arlington");
    await c.close();
    const bytes = c.received();
    for (const v of [SSN, EMAIL, CARD]) expect(bytes).not.toContain(v);
    const h = await mcpClient(g.httpPort, human);
    const plain = await call(h, { path: "/reports/customers.txt" });
    await h.close();
    expect(plain.structuredContent.body).toBe(REPORT);
  });

  test("a binary object is refused to an agent; destructive calls are denied, judged by MinIO's state", async () => {
    const c = await mcpClient(g.httpPort, agent);
    const photo = await call(c, { path: "/reports/photo.png" });
    expect(photo.isError).toBe(true);
    expect(photo.structuredContent.status).toBe(403);
    for (const args of [
      { method: "DELETE", path: "/reports" },
      { method: "PUT", path: "/reports", query: { acl: "" }, body: "<AccessControlPolicy/>" },
      { method: "PUT", path: "/reports", query: { policy: "" }, body: "{}" },
    ]) {
      const r = await call(c, args);
      expect({ args, error: r.isError, status: r.structuredContent.status }).toEqual({
        args,
        error: true,
        status: 403,
      });
    }
    // Deleting an object is held (no progressToken: the call waits past the listener's idle time-out);
    // the approver denies it and the object stays.
    const del = call(c, { method: "DELETE", path: "/reports/customers.txt" });
    const id = await pendingId("s3:DeleteObject arn:aws:s3:::reports/customers.txt");
    await Bun.sleep(11_000);
    await decideWithCli(g.httpPort, "deny", id, approver, "no");
    const denied = await del;
    expect(denied.isError).toBe(true);
    expect(denied.structuredContent.status).toBe(403);
    await c.close();
    expect(c.received()).not.toContain(Buffer.from(PNG).toString("base64"));
    expect((await direct("GET", "/reports/customers.txt")).text).toBe(REPORT);
    expect((await direct("HEAD", "/reports")).status).toBe(200);
  });

  test("arguments outside the allow-list are protocol errors; a service or region the connection lacks is refused", async () => {
    const c = await mcpClient(g.httpPort, agent);
    for (const args of [
      { service: "s3", path: "/reports/customers.txt", headers: { authorization: "AWS4-HMAC-SHA256 x" } },
      { service: "s3", path: "/reports/customers.txt", headers: { "x-amz-security-token": "t" } },
      { service: "s3", path: "/reports/cust omers.txt" },
      { service: "s3", path: "/reports/x?acl" },
      { service: "s3", path: "reports" },
      { service: "S3!", path: "/" },
      { service: "s3", path: "/", region: "us east" },
      { service: "s3", path: "/", endpoint: "http://evil" },
    ]) {
      const e = await c.client.callTool({ name: "aws-s3__call", arguments: args }).catch((x) => x);
      expect(e).toBeInstanceOf(McpError);
    }
    // A service the connection does not offer, or the wrong region: refused by the listener.
    const sts = await call(c, {
      service: "sts",
      method: "POST",
      path: "/",
      body: "Action=GetCallerIdentity&Version=2011-06-15",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(sts.isError).toBe(true);
    const region = await call(c, { path: "/reports/customers.txt", region: "eu-west-1" });
    expect(region.isError).toBe(true);
    await c.close();
    for (const v of [SSN, EMAIL, CARD]) expect(c.received()).not.toContain(v);
  });

  test("an agent's upload waits for an approver, then lands", async () => {
    const c = await mcpClient(g.httpPort, agent);
    const upload = call(c, {
      method: "PUT",
      path: "/reports/new.txt",
      body: "approved content\n",
      headers: { "content-type": "text/plain" },
    });
    const id = await pendingId("s3:PutObject arn:aws:s3:::reports/new.txt");
    expect((await direct("GET", "/reports/new.txt")).status).toBe(404);
    await decideWithCli(g.httpPort, "approve", id, approver, "CHG-3");
    const r = await upload;
    expect(r.structuredContent.status).toBe(200);
    await c.close();
    expect((await direct("GET", "/reports/new.txt")).text).toBe("approved content\n");
    expect(textOf(r)).toContain("HTTP 200");
  });

  test("each call is an mcp.tool_call and a statement of an AWS session; no token or minted secret stored", async () => {
    await g.gw.recorder.durable();
    const store = await openStore(`sqlite:${g.dataDir}/audit.db`);
    const events = await allEvents(store);
    await store.close();
    const calls = events.filter((e) => e.type === "mcp.tool_call" && e.data.tool === "aws-s3__call");
    expect(calls.some((e) => e.data.status === "ok" && e.data.http_status === 200)).toBe(true);
    const texts = events.filter((e) => e.type === "statement").map((e) => String(e.data.text));
    expect(texts).toContain("s3:GetObject arn:aws:s3:::reports/customers.txt");
    // Out of this process: reading the live SQLite files here would drop the gateway's locks on them.
    const stored = dataDirBytes(g.dataDir);
    for (const t of [agent, human, approver, s3.secretAccessKey]) expect(stored.includes(t)).toBe(false);
  });
});
