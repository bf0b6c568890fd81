// The OpenAPI document: parses, every $ref resolves, every operation answers something, and it describes
// exactly the /api routes the gateway's HTTP app serves (the admin API and the approvals module's routes).
import { expect, test } from "bun:test";
import type { Hono } from "hono";
import type { AdminDeps } from "../../src/api/admin/deps.ts";
import { approvalsApi } from "../../src/api/approvals.ts";
import { createHttpApp } from "../../src/api/http.ts";
import { openApiDocument } from "../../src/api/openapi.ts";
import type { ApprovalService } from "../../src/approvals/service.ts";
import type { Authenticator } from "../../src/identity/authenticator.ts";

const doc = JSON.parse(JSON.stringify(openApiDocument)) as {
  openapi: string;
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown> };
};

/** The /api routes an app serves, as "METHOD /path/{param}". Middleware (method ALL) is not a route. */
function apiRoutes(app: Hono): Set<string> {
  const out = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL" || !r.path.startsWith("/api/") || r.path.endsWith("*")) continue;
    out.add(`${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
  }
  return out;
}

test("the document parses as OpenAPI 3.1 and every $ref resolves", () => {
  expect(doc.openapi).toBe("3.1.0");
  const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/(\w+)"/g) ?? [];
  expect(refs.length).toBeGreaterThan(10);
  for (const ref of refs) {
    const name = /schemas\/(\w+)/.exec(ref)![1]!;
    expect(doc.components.schemas[name], name).toBeDefined();
  }
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      expect(Object.keys(op.responses ?? {}).length, `${method} ${path}`).toBeGreaterThan(0);
    }
  }
});

test("it describes exactly the routes served under /api", () => {
  // Building the apps registers routes without touching their dependencies.
  const deps = {
    store: {},
    gatewayPublicKey: new Uint8Array(32),
    console: { roles: { admin: [], approver: [], auditor: [] }, oidc: null },
  } as unknown as AdminDeps;
  const approvals = approvalsApi({ approvals: {} as ApprovalService, authenticator: {} as Authenticator });
  const app = createHttpApp({ notReady: () => [], metrics: () => "", api: [approvals] }, { admin: deps });
  const served = apiRoutes(app);
  const described = new Set<string>();
  for (const [path, ops] of Object.entries(doc.paths))
    for (const m of Object.keys(ops)) described.add(`${m.toUpperCase()} ${path}`);
  expect([...served].sort()).toEqual([...described].sort());
});

test("the document is served without credentials", async () => {
  const deps = {
    store: {},
    gatewayPublicKey: new Uint8Array(32),
    console: { roles: { admin: [], approver: [], auditor: [] }, oidc: null },
  } as unknown as AdminDeps;
  const r = await createHttpApp({ notReady: () => [], metrics: () => "" }, { admin: deps }).request(
    "http://x/api/openapi.json",
  );
  expect(r.status).toBe(200);
  expect(((await r.json()) as { info: { title: string } }).info.title).toBe("Custos admin API");
});
