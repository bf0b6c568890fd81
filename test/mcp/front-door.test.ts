// The MCP front door end to end, with the official TypeScript SDK client: tools listed per identity, an
// agent's read masked (fixture values counted in every byte the client received), denied calls as tool
// errors naming the rule (judged by the rows PostgreSQL still holds), a held write approved from the CLI,
// unknown tools and malformed JSON-RPC answered cleanly while the gateway stays up, and the MCP session's
// own transcript in the audit log. Real PostgreSQL, a real HTTP upstream, the real CLI.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { pendingFor } from "../approvals/support.ts";
import { FIXTURE, HARMLESS, type Reflector, startReflector } from "../http/reflect-upstream.ts";
import { decideWithCli } from "../support/approver.ts";
import { allEvents, withStore } from "../support/audit-read.ts";
import { startTestGateway, type TestGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type PgServer, startPostgres } from "../support/postgres.ts";
import { mcpClient, type ToolText, textOf } from "./support.ts";

let db: PgServer;
let issuer: OidcIssuer;
let gw: TestGateway;
let up: Reflector;
let agent: string;
let dba: string;
let approver: string;
let outsider: string;

const PII = { ssn: "123-45-6789", card: "4111111111111111", email: "jane.doe@example.com" };
const count = (table: string, where = "true") =>
  Number(db.sql(`SELECT count(*) FROM ${table} WHERE ${where}`, "ledger").trim());

beforeAll(async () => {
  [db, issuer, up] = await Promise.all([startPostgres(), startOidcIssuer(), startReflector()]);
  db.sql(
    `CREATE TABLE customers (id int primary key, name text, email text, ssn text, card text);
     INSERT INTO customers VALUES (1, 'Ada', '${PII.email}', '${PII.ssn}', '${PII.card}'),
                                  (2, 'Grace', 'grace@example.org', '987-65-4320', '5500000000000004');
     CREATE TABLE payments (id int primary key, amount numeric);
     GRANT ALL ON customers, payments TO ${db.roles.scram.user};`,
    "ledger",
  );
  const ledger = {
    type: "postgres",
    target: {
      host: db.host,
      port: db.port,
      database: db.database,
      user: db.roles.scram.user,
      password_env: "LEDGER_DB_PASSWORD",
      tls: "prefer",
    },
    table_labels: { "public.payments": ["regulated"] },
    approvers: ["approvers"],
    review_timeout: "20s",
  };
  gw = await startTestGateway({
    pg: db,
    issuer,
    config: {
      connections: [
        { ...ledger, name: "ledger", allow_groups: ["agents", "dba"] },
        { ...ledger, name: "vault", allow_groups: ["dba"] },
        { name: "crm", type: "http", target: `http://127.0.0.1:${up.port}`, allow_groups: ["agents"] },
      ],
    },
  });
  agent = await gw.token("agent@bank.example", ["agents"]);
  dba = await gw.token("carol@bank.example", ["dba"]);
  approver = await gw.token("bob@bank.example", ["approvers"]);
  outsider = await gw.token("mallory@bank.example", ["nobody"]);
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  up?.stop();
  await Promise.all([db?.stop(), issuer?.stop()]);
}, 30_000);

const names = async (token: string) => {
  const c = await mcpClient(gw.httpPort, token);
  const { tools } = await c.client.listTools();
  await c.close();
  return tools.map((t) => t.name).sort();
};

describe("tools per identity", () => {
  test("each identity is offered exactly the connections its groups may open", async () => {
    expect(await names(agent)).toEqual(["crm__request", "ledger__query"]);
    expect(await names(dba)).toEqual(["ledger__query", "vault__query"]);
    expect(await names(outsider)).toEqual([]);
  });

  test("a tool of a connection the identity may not use is unknown, and nothing reaches that connection", async () => {
    const c = await mcpClient(gw.httpPort, agent);
    for (const name of ["vault__query", "nope__query", "ledger__request", "", "ledger__query\u0000"]) {
      const err = await c.client.callTool({ name, arguments: { sql: "SELECT 1" } }).catch((e) => e);
      expect(err).toBeInstanceOf(McpError);
      expect((err as McpError).code).toBe(-32602);
      expect((err as McpError).message).toContain("unknown tool");
    }
    const events = await withStore(gw, allEvents);
    const reached = events.filter(
      (e) => (e.data as { connection?: string }).connection === "vault" && e.type === "session.start",
    );
    expect(reached).toEqual([]);
    // The harmless look-alike: the tool it has works.
    const ok = (await c.client.callTool({
      name: "ledger__query",
      arguments: { sql: "SELECT 1 AS one" },
    })) as ToolText;
    expect(ok.isError).toBeFalsy();
    expect(ok.structuredContent).toMatchObject({ columns: ["one"], rows: [{ one: "1" }], row_count: 1 });
    await c.close();
  });
});

describe("reads through <conn>__query", () => {
  const reads = [
    "SELECT * FROM customers ORDER BY id",
    "SELECT name, email, ssn, card FROM customers WHERE id = $1",
    "SELECT concat(ssn, ' ', card) AS joined, upper(email) AS loud FROM customers",
    "SELECT row_to_json(c) AS doc FROM customers c",
    "SELECT ssn AS harmless_name FROM (SELECT * FROM customers) AS sub",
  ];

  test("an agent's rows arrive masked: no fixture value in any byte the client received", async () => {
    const c = await mcpClient(gw.httpPort, agent);
    let sawRows = 0;
    for (const sql of reads) {
      const r = (await c.client.callTool({
        name: "ledger__query",
        arguments: { sql, ...(sql.includes("$1") ? { params: [1] } : {}) },
      })) as ToolText;
      if (!r.isError) sawRows += (r.structuredContent as { row_count: number }).row_count;
    }
    await c.close();
    const bytes = c.received();
    if (process.env.MCP_DEBUG) console.log(bytes);
    for (const v of Object.values(PII)) expect(bytes).not.toContain(v);
    // Masked, not refused: the harmless values came through.
    expect(sawRows).toBeGreaterThan(0);
    expect(bytes).toContain("Grace");
  });

  test("a human sees the rows as stored; structured content and a text table", async () => {
    const c = await mcpClient(gw.httpPort, dba);
    const r = (await c.client.callTool({
      name: "ledger__query",
      arguments: { sql: "SELECT id, ssn FROM customers WHERE id = $1", params: [1] },
    })) as ToolText;
    await c.close();
    expect(r.structuredContent).toMatchObject({ rows: [{ id: "1", ssn: PII.ssn }], command: "SELECT 1" });
    expect(textOf(r)).toContain(PII.ssn);
  });

  test("rows beyond max_rows are not returned", async () => {
    const c = await mcpClient(gw.httpPort, agent);
    const r = (await c.client.callTool({
      name: "ledger__query",
      arguments: { sql: "SELECT g FROM generate_series(1, 5000) g", max_rows: 10 },
    })) as ToolText;
    await c.close();
    const s = r.structuredContent as { rows: unknown[]; truncated: boolean };
    expect(s.rows.length).toBe(10);
    expect(s.truncated).toBe(true);
  });
});

describe("denied calls", () => {
  const writes = [
    "DELETE FROM customers",
    "UPDATE customers SET ssn = 'x'",
    "WITH d AS (DELETE FROM customers RETURNING 1) SELECT * FROM d",
    "SELECT 1; DELETE FROM customers",
    "INSERT INTO customers SELECT id + 100, name, email, ssn, card FROM customers",
  ];

  test("an agent's writes are tool errors naming the rule; PostgreSQL still holds every row", async () => {
    const c = await mcpClient(gw.httpPort, agent);
    for (const sql of writes) {
      const r = (await c.client.callTool({ name: "ledger__query", arguments: { sql } })) as ToolText;
      expect(r.isError).toBe(true);
      // Refused naming the rule, or (a bounded INSERT on a connection with approvers) held for a human.
      expect(textOf(r)).toMatch(
        /custos\.[a-z_]+|cannot insert multiple commands|held for approval: request [0-9a-f]+/,
      );
    }
    await c.close();
    expect(count("customers")).toBe(2);
    expect(count("customers", "ssn = 'x'")).toBe(0);
  });

  test("a denial names the rule that decided", async () => {
    const c = await mcpClient(gw.httpPort, agent);
    const r = (await c.client.callTool({
      name: "ledger__query",
      arguments: { sql: "DELETE FROM customers" },
    })) as ToolText;
    await c.close();
    expect(textOf(r)).toContain("custos.unbounded_write");
  });

  test("bad arguments are invalid params; the same session goes on", async () => {
    const c = await mcpClient(gw.httpPort, agent);
    for (const args of [
      { sql: 1 },
      {},
      { sql: "SELECT 1", extra: true },
      { sql: "SELECT 1", params: [{ nested: 1 }] },
      { sql: "SELECT 1", max_rows: 100000 },
      { sql: "SELECT '\u0000'" },
    ]) {
      const err = await c.client.callTool({ name: "ledger__query", arguments: args }).catch((e) => e);
      expect(err).toBeInstanceOf(McpError);
      expect((err as McpError).code).toBe(-32602);
    }
    const ok = (await c.client.callTool({
      name: "ledger__query",
      arguments: { sql: "SELECT 2 AS two" },
    })) as ToolText;
    expect(ok.isError).toBeFalsy();
    await c.close();
  });
});

describe("held writes", () => {
  test("reported as progress while held, approved from the CLI, then completed", async () => {
    const c = await mcpClient(gw.httpPort, dba);
    const sql = "INSERT INTO payments VALUES ($1, $2)";
    const progress: string[] = [];
    const call = c.client.callTool(
      { name: "ledger__query", arguments: { sql, params: [1, 100] } },
      undefined,
      {
        onprogress: (p) => void progress.push(String(p.message)),
        resetTimeoutOnProgress: true,
        timeout: 30_000,
      },
    );
    const pending = await pendingFor(gw, approver, sql);
    expect(count("payments")).toBe(0); // held: nothing reached PostgreSQL yet
    expect(pending).toMatchObject({ connection: "ledger", requester: { subject: "carol@bank.example" } });
    await decideWithCli(gw.httpPort, "approve", pending.id, approver, "CHG-7");
    const r = (await call) as ToolText;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ command: "INSERT 1" });
    expect(progress.some((m) => m.includes(pending.id) && m.includes("custos approve"))).toBe(true);
    expect(count("payments", "id = 1 AND amount = 100")).toBe(1);
    await c.close();
  });

  test("without a progress token the call returns the request and how to approve it; denial keeps it out", async () => {
    const c = await mcpClient(gw.httpPort, dba);
    const sql = "INSERT INTO payments VALUES (2, 200)";
    const r = (await c.client.callTool({ name: "ledger__query", arguments: { sql } })) as ToolText;
    expect(r.isError).toBe(true);
    const s = r.structuredContent as { status: string; request_id: string };
    expect(s.status).toBe("held");
    expect(textOf(r)).toContain(`custos approve ${s.request_id}`);
    await decideWithCli(gw.httpPort, "deny", s.request_id, approver, "no");
    await Bun.sleep(300);
    expect(count("payments", "id = 2")).toBe(0);
    await c.close();
  });
});

describe("HTTP connections through <conn>__request", () => {
  test("an agent's response arrives masked; the upstream never sees the caller's token", async () => {
    const c = await mcpClient(gw.httpPort, agent);
    const r = (await c.client.callTool({
      name: "crm__request",
      arguments: { path: "/data/json" },
    })) as ToolText;
    const t = (await c.client.callTool({
      name: "crm__request",
      arguments: { path: "/data/textjson", query: { t: "chunked" } },
    })) as ToolText;
    await c.close();
    expect(r.isError).toBeFalsy();
    expect(t.isError).toBeFalsy();
    const bytes = c.received();
    for (const v of Object.values(FIXTURE)) expect(bytes).not.toContain(v);
    expect(bytes).toContain(HARMLESS.city);
    for (const seen of up.received) expect(JSON.stringify(seen.headers)).not.toContain(agent);
  });

  test("arguments that would change the request decided are refused", async () => {
    const c = await mcpClient(gw.httpPort, agent);
    for (const args of [
      { path: "data/json" },
      { path: "//evil.example/x" },
      { path: "/data/json?x=1" },
      { path: "/data\\json" },
      { path: "/data/json", headers: { "x-a": "1" } },
      { path: "/data/json", method: "TRACE" },
      { path: "/data/json", body: { a: 1 } },
    ]) {
      const err = await c.client.callTool({ name: "crm__request", arguments: args }).catch((e) => e);
      expect(err).toBeInstanceOf(McpError);
    }
    await c.close();
  });
});

describe("the endpoint", () => {
  const url = () => `http://127.0.0.1:${gw.httpPort}/mcp`;
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(url(), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        ...headers,
      },
      body,
    });

  test("no token: 401 with the RFC 9728 metadata; the metadata names the issuers", async () => {
    const res = await post('{"jsonrpc":"2.0","id":1,"method":"initialize"}');
    expect(res.status).toBe(401);
    const challenge = res.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain("resource_metadata=");
    const meta = challenge.match(/resource_metadata="([^"]+)"/)?.[1] ?? "";
    const doc = (await (await fetch(meta)).json()) as Record<string, unknown>;
    expect(doc.resource).toBe(`http://127.0.0.1:${gw.httpPort}/mcp`);
    expect(doc.authorization_servers).toEqual([issuer.issuer]);
    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } },
    };
    const bad = await post(JSON.stringify(init), { authorization: "Bearer not-a-token" });
    expect(bad.status).toBe(401);
  });

  test("malformed JSON-RPC gets JSON-RPC errors; the gateway and other sessions go on", async () => {
    const c = await mcpClient(gw.httpPort, agent);
    const auth = { authorization: `Bearer ${agent}` };
    const parse = await post("{not json", auth);
    expect(parse.status).toBe(400);
    expect(((await parse.json()) as { error: { code: number } }).error.code).toBe(-32700);
    const notInit = await post('{"jsonrpc":"2.0","id":1,"method":"tools/list"}', auth);
    expect(notInit.status).toBe(400);
    expect(((await notInit.json()) as { error: { code: number } }).error.code).toBe(-32600);
    const huge = await post(`{"x":"${"a".repeat(5 << 20)}"}`, auth);
    expect(huge.status).toBe(413);
    const sid = c.client.transport as unknown as { sessionId?: string };
    const stolen = await post('{"jsonrpc":"2.0","id":2,"method":"tools/list"}', {
      authorization: `Bearer ${dba}`,
      "mcp-session-id": sid.sessionId ?? "",
    });
    expect(stolen.status).toBe(403);
    const garbage = await post('{"jsonrpc":"2.0","id":3,"method":"tools/call","params":"x"}', {
      ...auth,
      "mcp-session-id": sid.sessionId ?? "",
      "mcp-protocol-version": "2025-11-25",
    });
    expect(garbage.status).toBeLessThan(500);
    const evil = await post("{}", { ...auth, origin: "https://evil.example" });
    expect(evil.status).toBe(403);
    const r = (await c.client.callTool({
      name: "ledger__query",
      arguments: { sql: "SELECT 3 AS three" },
    })) as ToolText;
    expect(r.structuredContent).toMatchObject({ rows: [{ three: "3" }] });
    await c.close();
  });
});

describe("sessions a client never ends", () => {
  test("a token that initialises again and again keeps working; its oldest idle sessions are ended", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const c = await mcpClient(gw.httpPort, dba);
      ids.push((c.client.transport as unknown as { sessionId: string }).sessionId);
      await c.client.close(); // no DELETE, as many clients do
    }
    const probe = (id: string) =>
      fetch(`http://127.0.0.1:${gw.httpPort}/mcp`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${dba}`,
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "mcp-session-id": id,
          "mcp-protocol-version": "2025-11-25",
        },
        body: '{"jsonrpc":"2.0","id":9,"method":"tools/list"}',
      });
    expect((await probe(ids[0]!)).status).toBe(404);
    expect((await probe(ids[11]!)).status).toBe(200);
  });
});

describe("the Python mcp SDK's client", () => {
  test("lists its tools, gets masked rows, a denial naming the rule and an unknown-tool error", async () => {
    const setup = Bun.spawn(["sh", join(import.meta.dir, "../../scripts/setup-mcp-deps")], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const line = (await new Response(setup.stdout).text()).trim();
    expect(await setup.exited).toBe(0);
    const python = line.replace(/^MCP_PYTHON=/, "");
    const proc = Bun.spawn(
      [
        python,
        join(import.meta.dir, "python/client.py"),
        `http://127.0.0.1:${gw.httpPort}/mcp`,
        "SELECT * FROM customers WHERE id = $1",
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
    for (const v of Object.values(PII)) expect(stdout).not.toContain(v);
    const out = JSON.parse(stdout);
    expect(out.protocol).toBe("2025-11-25");
    expect(out.tools).toEqual(["crm__request", "ledger__query"]);
    expect(out.read.is_error).toBe(false);
    expect(out.read.structured.rows[0]).toMatchObject({ id: "1", name: "Ada" });
    expect(out.denied.is_error).toBe(true);
    expect(out.denied.text).toContain("custos.unbounded_write");
    expect(out.unknown.code).toBe(-32602);
    expect(count("customers")).toBe(2);
  }, 120_000);
});

describe("the record", () => {
  test("the MCP session has its own session.start, one mcp.tool_call per call, and session.end", async () => {
    const c = await mcpClient(gw.httpPort, agent);
    const sid = (c.client.transport as unknown as { sessionId: string }).sessionId;
    await c.client.callTool({
      name: "ledger__query",
      arguments: { sql: "SELECT name FROM customers WHERE id = $1", params: [2] },
    });
    await c.client.callTool({ name: "ledger__query", arguments: { sql: "DELETE FROM customers" } });
    await c.client.callTool({ name: "nope__query", arguments: {} }).catch(() => undefined);
    await c.close();
    await Bun.sleep(200);
    const events = await withStore(gw, allEvents);
    const mine = events.filter((e) => e.sessionId === sid);
    expect(mine.map((e) => e.type)).toEqual(
      expect.arrayContaining(["auth.success", "session.start", "mcp.tool_call", "session.end"]),
    );
    const start = mine.find((e) => e.type === "session.start")!;
    expect(start.data).toMatchObject({ protocol: "mcp", connection: "mcp", subject: "agent@bank.example" });
    const calls = mine.filter((e) => e.type === "mcp.tool_call").map((e) => e.data);
    expect(calls).toMatchObject([
      { seq: 0, tool: "ledger__query", status: "ok", rows: 1, arguments: { params: [2] } },
      { seq: 1, tool: "ledger__query", status: "error", rule: "custos.unbounded_write" },
      { seq: 2, tool: "nope__query", status: "refused" },
    ]);
    // The native sessions the calls ran in name this MCP session as their application.
    const native = events.filter(
      (e) =>
        e.type === "session.start" &&
        (e.data as { application?: string }).application === `custos-mcp ${sid}`,
    );
    expect(native.length).toBeGreaterThan(0);
    // No token anywhere in the record.
    expect(JSON.stringify(events)).not.toContain(agent);
  });
});
