// Upstream MCP servers (`type: mcp`) governed like any target, with SDK-written servers over Streamable
// HTTP and stdio: tools/list filtered by policy, each call decided on tool name and arguments, results
// masked for agents (fixture values counted in every byte the client received), unmaskable content refused,
// the gateway's own credential injected and the caller's token never seen by the upstream (read from the
// upstream's side), and each call a statement event in the connection's own session.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { openStore } from "../../src/audit/store.ts";
import { pendingFor } from "../approvals/support.ts";
import { type HttpTestGateway, startHttpGateway } from "../http/support.ts";
import { decideWithCli } from "../support/approver.ts";
import { allEvents } from "../support/audit-read.ts";
import type { TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { mcpClient, type ToolText, textOf } from "./support.ts";
import { type HttpUpstream, startHttpUpstream, UPSTREAM_HARMLESS, UPSTREAM_PII } from "./upstream-server.ts";

let issuer: OidcIssuer;
let gw: HttpTestGateway;
let up: HttpUpstream;
let agent: string;
let human: string;
let approver: string;
let scratch: string;
let callsFile: string;
const UP_TOKEN = "upstream-service-Token-7f3a";

beforeAll(async () => {
  issuer = await startOidcIssuer();
  up = startHttpUpstream();
  scratch = mkdtempSync(join(tmpdir(), "custos-mcp-up-"));
  callsFile = join(scratch, "calls.ndjson");
  writeFileSync(callsFile, "");
  gw = await startHttpGateway({
    issuer,
    env: { UP_TOKEN, CALLS_FILE_ENV: callsFile },
    connections: [
      {
        name: "files",
        type: "mcp",
        target: { url: up.url, bearer_env: "UP_TOKEN" },
        allow_groups: ["agents", "dba"],
      },
      {
        name: "local",
        type: "mcp",
        target: {
          command: [process.execPath, join(import.meta.dir, "upstream-server.ts"), "--stdio"],
          env_from: { CALLS_FILE: "CALLS_FILE_ENV" },
        },
        allow_groups: ["agents"],
      },
      {
        name: "vaultmcp",
        type: "mcp",
        labels: ["regulated"],
        target: { url: up.url, bearer_env: "UP_TOKEN" },
        allow_groups: ["dba"],
        approvers: ["approvers"],
        review_timeout: "20s",
      },
    ],
  });
  agent = await gw.token("agent@bank.example", ["agents"]);
  human = await gw.token("carol@bank.example", ["dba"]);
  approver = await gw.token("bob@bank.example", ["approvers"]);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  up?.stop();
  await issuer?.stop();
  rmSync(scratch, { recursive: true, force: true });
}, 30_000);

const port = () => gw.gw.httpPort;

describe("tools/list", () => {
  test("filtered by policy per identity: agents see the tools that read, never a name that is not plain", async () => {
    const a = await mcpClient(port(), agent);
    const tools = (await a.client.listTools()).tools.map((t) => t.name).sort();
    await a.close();
    expect(tools).toEqual([
      "files__get_big_report",
      "files__get_customer",
      "files__get_customer_text",
      "files__get_logo",
      "local__get_big_report",
      "local__get_customer",
      "local__get_customer_text",
      "local__get_logo",
    ]);
    const h = await mcpClient(port(), human);
    const humanTools = (await h.client.listTools()).tools.map((t) => t.name).sort();
    await h.close();
    // A write tool on a regulated connection is listed (a call waits for an approver).
    expect(humanTools).toEqual([
      "files__delete_customer",
      "files__get_big_report",
      "files__get_customer",
      "files__get_customer_text",
      "files__get_logo",
      "vaultmcp__delete_customer",
      "vaultmcp__get_big_report",
      "vaultmcp__get_customer",
      "vaultmcp__get_customer_text",
      "vaultmcp__get_logo",
    ]);
  });
});

describe("tools/call", () => {
  test("an agent's results arrive masked, over HTTP and stdio; harmless values unchanged", async () => {
    const c = await mcpClient(port(), agent);
    const results: ToolText[] = [];
    for (const name of [
      "files__get_customer",
      "files__get_customer_text",
      "local__get_customer",
      "local__get_customer_text",
    ])
      results.push((await c.client.callTool({ name, arguments: { id: 7 } })) as ToolText);
    await c.close();
    for (const r of results) expect(r.isError).toBeFalsy();
    const bytes = c.received();
    if (process.env.MCP_DEBUG) console.log(bytes);
    for (const v of Object.values(UPSTREAM_PII)) expect(bytes).not.toContain(v);
    expect(bytes).toContain(UPSTREAM_HARMLESS);
    expect((results[0]!.structuredContent as { city: string }).city).toBe(UPSTREAM_HARMLESS);
    // The stdio server really answered: its own record of the calls.
    const calls = readFileSync(callsFile, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(calls.map((x) => x.name)).toEqual(["get_customer", "get_customer_text"]);
    // Its environment is what the connection names (and PATH), not the gateway's.
    for (const x of calls)
      expect(
        x.env
          .filter((k: string) => !["PATH", "CALLS_FILE"].includes(k))
          .some((k: string) => /TOKEN|PASSWORD|SECRET/i.test(k)),
      ).toBe(false);
  });

  test("content the masker cannot read is refused for agents, a human gets it", async () => {
    const c = await mcpClient(port(), agent);
    const r = (await c.client.callTool({ name: "files__get_logo", arguments: {} })) as ToolText;
    await c.close();
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain("custos.mask_unavailable");
    expect(c.received()).not.toContain(Buffer.from(UPSTREAM_PII.ssn).toString("base64"));
    const h = await mcpClient(port(), human);
    const hr = (await h.client.callTool({ name: "files__get_logo", arguments: {} })) as ToolText;
    await h.close();
    expect(hr.content[0]?.type).toBe("image");
  });

  test("a tool not offered is unknown or refused, and never reaches the upstream; a human's write does", async () => {
    const before = up.calls.length;
    const c = await mcpClient(port(), agent);
    for (const name of ["files__bad name!", "files__", "files__get_customer_x", "local__delete_customer_"]) {
      const err = await c.client.callTool({ name, arguments: { id: 7 } }).catch((e) => e);
      expect(err).toBeInstanceOf(McpError);
    }
    // A tool the policy hid is refused by the rule that hid it (and the refusal is a statement event).
    const hidden = (await c.client.callTool({
      name: "files__delete_customer",
      arguments: { id: 7 },
    })) as ToolText;
    expect(hidden.isError).toBe(true);
    expect(textOf(hidden)).toContain("custos.mcp_agent_tool");
    await c.close();
    expect(up.calls.slice(before).map((x) => x.name)).toEqual([]);
    const h = await mcpClient(port(), human);
    const r = (await h.client.callTool({ name: "files__delete_customer", arguments: { id: 7 } })) as ToolText;
    await h.close();
    expect(textOf(r)).toBe("deleted");
    expect(up.calls.slice(before)).toEqual([{ name: "delete_customer", args: { id: 7 } }]);
  });

  test("the upstream gets the gateway's credential, never the caller's token", () => {
    expect(up.headers.length).toBeGreaterThan(0);
    for (const h of up.headers) {
      expect(JSON.stringify(h)).not.toContain(agent);
      expect(JSON.stringify(h)).not.toContain(human);
      expect(h.authorization).toBe(`Bearer ${UP_TOKEN}`);
    }
  });
});

describe("approvals", () => {
  test("a write tool on a regulated connection is held (progress), approved from the CLI, then made", async () => {
    const before = up.calls.length;
    const c = await mcpClient(port(), human);
    const progress: string[] = [];
    const call = c.client.callTool({ name: "vaultmcp__delete_customer", arguments: { id: 8 } }, undefined, {
      onprogress: (p) => void progress.push(String(p.message)),
      resetTimeoutOnProgress: true,
      timeout: 30_000,
    });
    const pending = await pendingFor(
      { httpPort: port() } as TestGateway,
      approver,
      'tools/call delete_customer {"id":8}',
    );
    expect(up.calls.slice(before)).toEqual([]); // held: nothing reached the upstream yet
    await decideWithCli(port(), "approve", pending.id, approver, "CHG-9");
    const r = (await call) as ToolText;
    await c.close();
    expect(textOf(r)).toBe("deleted");
    expect(progress.some((m) => m.includes(pending.id))).toBe(true);
    expect(up.calls.slice(before)).toEqual([{ name: "delete_customer", args: { id: 8 } }]);
  });
});

describe("approvals without a progress channel", () => {
  test("a held call returns at once naming the request; approved, it runs once; a retry files a new request", async () => {
    const before = up.calls.length;
    const c = await mcpClient(port(), human);
    // No onprogress: the SDK sends no progressToken.
    const held = (await c.client.callTool({
      name: "vaultmcp__delete_customer",
      arguments: { id: 9 },
    })) as ToolText & { structuredContent: { status: string; request_id: string; approve: string } };
    expect(held.isError).toBe(true);
    expect(held.structuredContent.status).toBe("held");
    const id = held.structuredContent.request_id;
    expect(textOf(held)).toContain(id);
    expect(held.structuredContent.approve).toContain("custos approve");
    expect(up.calls.slice(before)).toEqual([]);
    const pending = await pendingFor(
      { httpPort: port() } as TestGateway,
      approver,
      'tools/call delete_customer {"id":9}',
    );
    expect(pending.id).toBe(id);
    await decideWithCli(port(), "approve", id, approver, "CHG-10");
    const deadline = Date.now() + 10_000;
    while (up.calls.length === before && Date.now() < deadline) await Bun.sleep(50);
    expect(up.calls.slice(before)).toEqual([{ name: "delete_customer", args: { id: 9 } }]);
    // The same call again is a new request, held like the first: the approval does not carry over.
    const again = (await c.client.callTool({
      name: "vaultmcp__delete_customer",
      arguments: { id: 9 },
    })) as ToolText & { structuredContent: { status: string; request_id: string } };
    expect(again.structuredContent.status).toBe("held");
    expect(again.structuredContent.request_id).not.toBe(id);
    await Bun.sleep(300);
    await c.close();
    expect(up.calls.slice(before)).toEqual([{ name: "delete_customer", args: { id: 9 } }]);
  });
});

describe("the record", () => {
  test("each call is a statement event of the connection's own session; no token or upstream secret stored", async () => {
    await gw.gw.recorder.durable();
    const store = await openStore(`sqlite:${gw.dataDir}/audit.db`);
    const events = await allEvents(store);
    await store.close();
    const starts = events.filter((e) => e.type === "session.start" && e.data.connection === "files");
    expect(starts.length).toBeGreaterThan(0);
    const ids = new Set(starts.map((s) => s.sessionId));
    const statements = events.filter((e) => e.type === "statement" && ids.has(e.sessionId));
    expect(
      statements.some(
        (e) => e.data.action === "allow" && String(e.data.text).startsWith("tools/call get_customer"),
      ),
    ).toBe(true);
    expect(statements.some((e) => String(e.data.text).startsWith("tools/call delete_customer"))).toBe(true);
    // The call answered "held" and run once approved is recorded with its request when it completes.
    const approvedLater = events.filter(
      (e) => e.type === "mcp.tool_call" && e.data.tool === "vaultmcp__delete_customer" && e.data.request_id,
    );
    expect(approvedLater.filter((e) => e.data.status === "ok").length).toBeGreaterThanOrEqual(1);
    const bytes = gw.storeBytes();
    for (const secret of [agent, human, UP_TOKEN]) expect(bytes.includes(secret)).toBe(false);
  });
});
