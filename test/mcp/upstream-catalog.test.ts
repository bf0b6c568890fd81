// Upstream resources and prompts governed like tools, with SDK-written servers over Streamable HTTP and
// stdio: lists filtered by policy per identity, each read and get decided, contents masked for agents
// (fixture values counted in every byte the client received, harmless look-alikes kept), binary contents
// refused for masked identities, methods that are not offered (subscriptions, completions) refused before
// any upstream sees them, and every request an event. Also the stdio bounds: a message past the
// connection's max_message stops the child and fails the call while the gateway serves on, and the
// child's stderr reaches the log only redacted.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { openStore } from "../../src/audit/store.ts";
import { type HttpTestGateway, startHttpGateway } from "../http/support.ts";
import { allEvents } from "../support/audit-read.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { mcpClient, type ToolText, textOf } from "./support.ts";
import {
  BIG_REPORT_BYTES,
  type HttpUpstream,
  STDERR_MARK,
  startHttpUpstream,
  UPSTREAM_HARMLESS,
  UPSTREAM_PII,
  UPSTREAM_SECRET_FILE,
  UPSTREAM_SETTINGS,
} from "./upstream-server.ts";

let issuer: OidcIssuer;
let gw: HttpTestGateway;
let up: HttpUpstream;
let agent: string;
let human: string;
let scratch: string;
let callsFile: string;
const UP_TOKEN = "upstream-service-Token-c41d";
const STDIO_SECRET = "stdio-Secret-Canary-99a1";
const MAX_MESSAGE = 64 << 10;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  up = startHttpUpstream();
  scratch = mkdtempSync(join(tmpdir(), "custos-mcp-cat-"));
  callsFile = join(scratch, "calls.ndjson");
  writeFileSync(callsFile, "");
  gw = await startHttpGateway({
    issuer,
    env: { UP_TOKEN, CALLS_FILE_ENV: callsFile, STDIO_SECRET_ENV: STDIO_SECRET },
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
          env_from: { CALLS_FILE: "CALLS_FILE_ENV", STDIO_SECRET: "STDIO_SECRET_ENV" },
          max_message: MAX_MESSAGE,
        },
        allow_groups: ["agents"],
      },
    ],
  });
  agent = await gw.token("agent@bank.example", ["agents"]);
  human = await gw.token("carol@bank.example", ["dba"]);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  up?.stop();
  await issuer?.stop();
  rmSync(scratch, { recursive: true, force: true });
}, 30_000);

const port = () => gw.gw.httpPort;
const upstreamReads = () =>
  up.calls.filter((c) => c.name === "resources/read").map((c) => (c.args as { uri: string }).uri);

describe("resources/list and resources/templates/list", () => {
  test("filtered per identity: an agent never sees a credentials file or a URI carrying an SSN", async () => {
    const a = await mcpClient(port(), agent);
    const listed = (await a.client.listResources()).resources.map((r) => r.uri).sort();
    const templates = (await a.client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    await a.close();
    const expected = [
      "test://config/settings.json",
      "test://customers/7",
      "test://customers/7/notes",
      "test://logo.png",
    ];
    expect(listed).toEqual(
      [...expected.map((u) => `custos://files/${u}`), ...expected.map((u) => `custos://local/${u}`)].sort(),
    );
    expect(templates.sort()).toEqual([
      "custos://files/test://customers/{id}",
      "custos://local/test://customers/{id}",
    ]);
    // Descriptions are masked too; the harmless part of one stays.
    const bytes = a.received();
    for (const v of Object.values(UPSTREAM_PII)) expect(bytes).not.toContain(v);
    expect(bytes).toContain(UPSTREAM_HARMLESS);
    const h = await mcpClient(port(), human);
    const humanListed = (await h.client.listResources()).resources.map((r) => r.uri);
    await h.close();
    expect(humanListed).toContain("custos://files/test://config/secrets.env");
    expect(humanListed).toContain(`custos://files/test://by-ssn/${UPSTREAM_PII.ssn}`);
  });
});

describe("resources/read", () => {
  test("an agent's reads arrive masked over HTTP and stdio (JSON by names, prose by detectors, a template)", async () => {
    const c = await mcpClient(port(), agent);
    const texts: string[] = [];
    for (const uri of [
      "custos://files/test://customers/7",
      "custos://files/test://customers/7/notes",
      "custos://files/test://customers/12",
      "custos://local/test://customers/7/notes",
      "custos://files/test://config/settings.json",
    ]) {
      const r = await c.client.readResource({ uri });
      expect(r.contents[0]?.uri).toBe(uri);
      texts.push(String((r.contents[0] as { text?: string }).text));
    }
    await c.close();
    const bytes = c.received();
    for (const v of Object.values(UPSTREAM_PII)) expect(bytes).not.toContain(v);
    expect(JSON.parse(texts[0]!).city).toBe(UPSTREAM_HARMLESS);
    expect(texts[1]).toContain(UPSTREAM_HARMLESS);
    expect(texts[4]).toBe(UPSTREAM_SETTINGS);
    expect(upstreamReads()).toEqual(
      expect.arrayContaining(["test://customers/7", "test://customers/12", "test://config/settings.json"]),
    );
  });

  test("refused for an agent and never read upstream: credentials files in several spellings, unknown connections", async () => {
    const before = upstreamReads().length;
    const c = await mcpClient(port(), agent);
    const attempts = [
      "custos://files/test://config/secrets.env",
      "custos://files/TEST://CONFIG/SECRETS.ENV",
      "custos://files/test://config/../config/secrets.env",
      "custos://local/test://config/secrets.env",
      "custos://files/test://home/.ssh/id_rsa",
      "custos://vault/test://customers/7",
      "custos://files",
      "test://customers/7",
      "custos:///test://customers/7",
    ];
    for (const uri of attempts) {
      const err = await c.client.readResource({ uri }).catch((e) => e);
      expect(err).toBeInstanceOf(McpError);
    }
    // The binary blob cannot be masked: refused, its bytes never sent (as base64 or raw).
    const blob = await c.client.readResource({ uri: "custos://files/test://logo.png" }).catch((e) => e);
    expect(blob).toBeInstanceOf(McpError);
    expect(String((blob as McpError).message)).toContain("custos.mask_unavailable");
    await c.close();
    const bytes = c.received();
    expect(bytes).not.toContain(UPSTREAM_SECRET_FILE);
    expect(bytes).not.toContain(Buffer.from(UPSTREAM_PII.ssn).toString("base64"));
    expect(bytes).not.toContain(UPSTREAM_PII.ssn);
    // Only the blob read reached an upstream (it was decided, then its result refused).
    expect(upstreamReads().slice(before)).toEqual(["test://logo.png"]);
    // A human reads the credentials file and the blob unmasked.
    const h = await mcpClient(port(), human);
    const s = await h.client.readResource({ uri: "custos://files/test://config/secrets.env" });
    const logo = await h.client.readResource({ uri: "custos://files/test://logo.png" });
    await h.close();
    expect((s.contents[0] as { text: string }).text).toBe(UPSTREAM_SECRET_FILE);
    expect((logo.contents[0] as { blob: string }).blob).toBe(
      Buffer.from(UPSTREAM_PII.ssn).toString("base64"),
    );
  });
});

describe("prompts", () => {
  test("listed by front name, an agent's get arrives masked; image content and non-string arguments refused", async () => {
    const before = up.calls.length;
    const c = await mcpClient(port(), agent);
    const names = (await c.client.listPrompts()).prompts.map((p) => p.name).sort();
    expect(names).toEqual([
      "files__show_logo",
      "files__summarise_customer",
      "local__show_logo",
      "local__summarise_customer",
    ]);
    const got = await c.client.getPrompt({ name: "files__summarise_customer", arguments: { id: "7" } });
    expect(got.messages).toHaveLength(2);
    expect(JSON.stringify(got)).toContain(UPSTREAM_HARMLESS);
    const image = await c.client.getPrompt({ name: "files__show_logo" }).catch((e) => e);
    expect(image).toBeInstanceOf(McpError);
    for (const name of ["files__bad prompt!", "files__summarise_customer_x", "vault__summarise_customer"]) {
      const err = await c.client.getPrompt({ name, arguments: { id: "7" } }).catch((e) => e);
      expect(err).toBeInstanceOf(McpError);
    }
    // Non-string arguments, sent raw past the SDK's typing.
    const bad = await c.client
      .request(
        {
          method: "prompts/get",
          params: { name: "files__summarise_customer", arguments: { id: 7 } as never },
        },
        (await import("@modelcontextprotocol/sdk/types.js")).GetPromptResultSchema,
      )
      .catch((e) => e);
    expect(bad).toBeInstanceOf(McpError);
    await c.close();
    const bytes = c.received();
    for (const v of Object.values(UPSTREAM_PII)) expect(bytes).not.toContain(v);
    expect(bytes).not.toContain(Buffer.from(UPSTREAM_PII.ssn).toString("base64"));
    const gets = up.calls.slice(before).filter((x) => x.name === "prompts/get");
    expect(gets.map((g) => (g.args as { name: string }).name)).toEqual(["summarise_customer", "show_logo"]);
  });
});

describe("methods that are not offered", () => {
  test("subscriptions, completions and logging are refused at the door; the session goes on", async () => {
    const before = up.calls.length;
    const c = await mcpClient(port(), human);
    const caps = c.client.getServerCapabilities();
    expect(caps?.resources?.subscribe).toBe(false);
    for (const request of [
      () => c.client.subscribeResource({ uri: "custos://files/test://customers/7" }),
      () => c.client.unsubscribeResource({ uri: "custos://files/test://customers/7" }),
      () =>
        c.client.complete({
          ref: { type: "ref/prompt", name: "files__summarise_customer" },
          argument: { name: "id", value: "7" },
        }),
      () => c.client.setLoggingLevel("debug"),
    ]) {
      const err = await request().catch((e) => e);
      expect(err).toBeInstanceOf(McpError);
      expect((err as McpError).code).toBe(-32601);
    }
    // Still usable afterwards.
    const r = await c.client.readResource({ uri: "custos://files/test://config/settings.json" });
    await c.close();
    expect((r.contents[0] as { text: string }).text).toBe(UPSTREAM_SETTINGS);
    expect(up.calls.slice(before).map((x) => x.name)).toEqual(["resources/read"]);
  });
});

describe("the stdio upstream's bounds", () => {
  test("a message past max_message stops the child and fails the call; the gateway and other sessions serve on", async () => {
    const other = await mcpClient(port(), agent);
    const c = await mcpClient(port(), agent);
    const pidsBefore = new Set(calls().map((x) => x.pid));
    // The child answers a read first (so its pid is known), then the oversized report.
    await c.client.readResource({ uri: "custos://local/test://config/settings.json" });
    const pid = calls().find((x) => !pidsBefore.has(x.pid))?.pid as number;
    expect(typeof pid).toBe("number");
    const big = (await c.client.callTool({ name: "local__get_big_report", arguments: {} })) as ToolText;
    expect(big.isError).toBe(true);
    expect(textOf(big)).toContain(`larger than ${MAX_MESSAGE} bytes`);
    expect(c.received().length).toBeLessThan(BIG_REPORT_BYTES);
    // The child is gone (signal 0 probes for the process).
    await Bun.sleep(200);
    expect(() => process.kill(pid, 0)).toThrow();
    // The same session's HTTP upstream, and another session's stdio child, still answer.
    const r = (await c.client.callTool({ name: "files__get_customer", arguments: { id: 7 } })) as ToolText;
    expect(r.isError).toBeFalsy();
    const o = (await other.client.callTool({
      name: "local__get_customer",
      arguments: { id: 7 },
    })) as ToolText;
    expect(o.isError).toBeFalsy();
    await c.close();
    await other.close();
  });

  test("the child's stderr is logged capped and redacted: its secret never appears", () => {
    const lines = gw.logs.filter((l) => l.includes(STDERR_MARK));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of gw.logs) expect(l).not.toContain(STDIO_SECRET);
    expect(lines.some((l) => l.includes("[redacted]"))).toBe(true);
  });
});

describe("the Python mcp SDK's client", () => {
  test("lists, reads and gets through the gateway: masked, filtered, credentials and blobs refused", async () => {
    const setup = Bun.spawn(["sh", join(import.meta.dir, "../../scripts/setup-mcp-deps")], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const line = (await new Response(setup.stdout).text()).trim();
    expect(await setup.exited).toBe(0);
    const proc = Bun.spawn(
      [
        line.replace(/^MCP_PYTHON=/, ""),
        join(import.meta.dir, "python/catalog.py"),
        `http://127.0.0.1:${port()}/mcp`,
      ],
      { stdout: "pipe", stderr: "pipe", env: { ...process.env, CUSTOS_TOKEN: agent } },
    );
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    for (const v of [
      ...Object.values(UPSTREAM_PII),
      UPSTREAM_SECRET_FILE,
      Buffer.from(UPSTREAM_PII.ssn).toString("base64"),
    ])
      expect(stdout).not.toContain(v);
    const out = JSON.parse(stdout);
    expect(out.resources).toContain("custos://files/test://customers/7");
    expect(out.resources).not.toContain("custos://files/test://config/secrets.env");
    expect(out.templates).toContain("custos://files/test://customers/{id}");
    expect(out.prompts).toContain("files__summarise_customer");
    expect(JSON.parse(out.record[0]).city).toBe(UPSTREAM_HARMLESS);
    expect(JSON.parse(out.expanded[0]).city).toBe(UPSTREAM_HARMLESS);
    expect(JSON.stringify(out.prompt)).toContain(UPSTREAM_HARMLESS);
    expect(out.secrets.code).toBe(-32003);
    expect(out.secrets.error).toContain("custos.mcp_agent_secret_resource");
    expect(out.blob.error).toContain("custos.mask_unavailable");
    expect(out.subscribe.code).toBe(-32601);
  }, 120_000);
});

describe("the record", () => {
  test("each read and get is an event of the MCP session and a statement of the connection's session", async () => {
    await gw.gw.recorder.durable();
    const store = await openStore(`sqlite:${gw.dataDir}/audit.db`);
    const events = await allEvents(store);
    await store.close();
    const reads = events.filter((e) => e.type === "mcp.resource_read");
    const gets = events.filter((e) => e.type === "mcp.prompt_get");
    expect(reads.some((e) => e.data.status === "ok" && e.data.connection === "files")).toBe(true);
    expect(
      reads.some((e) => e.data.status === "refused" && e.data.rule === "custos.mcp_agent_secret_resource"),
    ).toBe(true);
    expect(gets.some((e) => e.data.status === "ok")).toBe(true);
    expect(events.some((e) => e.type === "mcp.method_refused")).toBe(true);
    const statements = events.filter((e) => e.type === "statement").map((e) => String(e.data.text));
    expect(statements.some((t) => t.startsWith("resources/read test://customers/7"))).toBe(true);
    expect(statements.some((t) => t.startsWith("prompts/get summarise_customer"))).toBe(true);
    const bytes = gw.storeBytes();
    for (const secret of [agent, human, UP_TOKEN, STDIO_SECRET]) expect(bytes.includes(secret)).toBe(false);
  });
});

function calls(): { name: string; pid: number }[] {
  return readFileSync(callsFile, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
