// What reaches the upstream, judged on the upstream side (a node:http reflector that reports the raw
// request target, method and headers it received): the canonical path the policy decided and nothing
// else, the decided method, and only the headers on the allow-list. Attack corpus beside harmless
// look-alikes, so a gateway that refused everything would fail too.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { rawRequest } from "./raw-http.ts";
import { type Reflector, startReflector } from "./reflect-upstream.ts";
import { type HttpTestGateway, startHttpGateway } from "./support.ts";

const SVC_TOKEN = "svc-reflect-token-3e9b1f";

let issuer: OidcIssuer;
let up: Reflector;
let gw: HttpTestGateway;
let agent: string;
let human: string;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  up = await startReflector();
  const common = {
    type: "http",
    target: `http://127.0.0.1:${up.port}`,
    allow_groups: ["agents", "dba"],
    inject: { bearer_env: "SVC_TOKEN" },
  };
  gw = await startHttpGateway({
    issuer,
    env: { SVC_TOKEN },
    connections: [
      { ...common, name: "api" },
      { ...common, name: "override", method_override: true },
      { ...common, name: "opted", forward_cookies: true, forward_headers: ["x-tenant"] },
    ],
  });
  agent = await gw.token("agent-9", ["agents"]);
  human = await gw.token("alice", ["dba"]);
});

afterAll(async () => {
  await gw?.stop();
  await up?.stop();
  await issuer?.stop();
});

const port = () => gw.gw.httpPort;
const raw = (target: string, token: string, headers: Record<string, string> = {}, method = "GET") =>
  rawRequest(port(), target, { authorization: `Bearer ${token}`, ...headers }, method);

/** Whether any request the upstream received routes to its admin handler, read as upstreams read paths. */
function reachedAdmin(): string[] {
  return up.received
    .map((r) => r.url)
    .filter((u) => {
      let p = u.split("?")[0]!.replaceAll("\\", "/");
      for (let i = 0; i < 3; i++) {
        try {
          p = decodeURIComponent(p);
        } catch {}
      }
      p = p
        .replace(/;[^/]*/g, "")
        .replace(/\/+/g, "/")
        .toLowerCase();
      const parts: string[] = [];
      for (const s of p.split("/")) {
        if (s === "..") parts.pop();
        else if (s !== "." && s !== "") parts.push(s);
      }
      return parts[0] === "admin" || parts[0] === "internal";
    });
}

describe("canonical paths", () => {
  const attacks = [
    "/c/api//admin",
    "/c/api/admin;jsessionid=1",
    "/c/api/admin;jsessionid=1/users",
    "/c/api/%61dmin",
    "/c/api/%41DMIN/users",
    "/c/api/admin%3b",
    "/c/api/admin%3Bx=1",
    "/c/api/./admin",
    "/c/api/x/../admin",
    "/c/api/x/..;/admin",
    "/c/api/x/%2e%2e/admin",
    "/c/api/x/%2E%2E/admin",
    "/c/api/x/..%2fadmin",
    "/c/api/%2fadmin",
    "/c/api/%5cadmin",
    "/c/api/x\\..\\admin",
    "/c/api/\\admin",
    "/c/api/%252e%252e/admin",
    "/c/api/x/%252e%252e/admin",
    "/c/api/%c0%ae%c0%ae/admin",
    "/c/api/x/%c0%af../admin",
    "/c/api/%e0%80%aeadmin",
    "/c/api/admin%00",
    "/c/api/admin%0d%0aX-Injected:%201",
    "/c/api/internal;x/../internal",
    "/c/api/%69nternal",
    "/c/api///internal//keys",
    "/c/api/admin.json",
    "/c/api/ADMIN%20",
    "/c/api/Admin/",
  ];

  test.each(attacks)("an agent cannot reach the admin handler with %p", async (target) => {
    up.received.length = 0;
    const res = await raw(target, agent);
    expect([400, 403, 404]).toContain(res.status);
    expect(reachedAdmin()).toEqual([]);
  });

  test("a human reaches the canonical path, exactly as the gateway decided it", async () => {
    up.received.length = 0;
    for (const target of [
      "/c/api//admin//users",
      "/c/api/%61dmin;jsessionid=9/users",
      "/c/api/x/..;/admin/users",
    ]) {
      const res = await raw(target, human);
      expect(res.status).toBe(200);
    }
    expect(up.received.map((r) => r.url)).toEqual(["/admin/users", "/admin/users", "/admin/users"]);
    // The judge itself sees these as admin requests (so it can fail).
    expect(reachedAdmin()).toHaveLength(3);
  });

  test("harmless look-alikes still work: encoded spaces, reserved escapes, trailing slashes, UTF-8", async () => {
    up.received.length = 0;
    const cases: [string, string][] = [
      ["/c/api/files/annual%20report.pdf", "/files/annual%20report.pdf"],
      ["/c/api/files/a%2bb", "/files/a%2Bb"],
      ["/c/api/caf%C3%A9/menu/", "/caf%C3%A9/menu/"],
      ["/c/api/administrators-guide", "/administrators-guide"],
      ["/c/api/search?q=a%20b&admin=1", "/search?q=a+b&admin=1"],
      ["/c/api/public;v=2/list", "/public/list"],
    ];
    for (const [target] of cases) expect((await raw(target, agent)).status).toBe(200);
    expect(up.received.map((r) => r.url)).toEqual(cases.map((c) => c[1]));
  });
});

describe("method overrides", () => {
  const overrides: [string, Record<string, string>][] = [
    ["/c/api/orders/1", { "x-http-method-override": "DELETE" }],
    ["/c/api/orders/1", { "x-http-method": "DELETE" }],
    ["/c/api/orders/1", { "x-method-override": "PUT" }],
    ["/c/api/orders/1?_method=DELETE", {}],
    ["/c/api/orders/1?_METHOD=delete&_method=DELETE", {}],
  ];

  test.each(overrides)(
    "stripped by default: %p %p reaches the upstream as a plain GET",
    async (target, headers) => {
      up.received.length = 0;
      expect((await raw(target, agent, headers)).status).toBe(200);
      const r = up.received[0]!;
      expect(r.method).toBe("GET");
      for (const h of ["x-http-method-override", "x-http-method", "x-method-override"])
        expect(r.headers[h]).toBeUndefined();
      expect(r.url).not.toContain("_method=");
    },
  );

  test("a `_method` form field is stripped from the body the upstream receives", async () => {
    up.received.length = 0;
    const res = await fetch(`${gw.base}/c/api/orders/1`, {
      method: "POST",
      headers: { authorization: `Bearer ${human}`, "content-type": "application/x-www-form-urlencoded" },
      body: "_method=DELETE&qty=2",
    });
    expect(res.status).toBe(200);
    expect(up.received[0]!.method).toBe("POST");
    expect(up.received[0]!.body).toBe("qty=2");
  });

  test("a `_method` member in a JSON body is refused", async () => {
    up.received.length = 0;
    const res = await fetch(`${gw.base}/c/api/orders/1`, {
      method: "POST",
      headers: { authorization: `Bearer ${human}`, "content-type": "application/json" },
      body: JSON.stringify({ _method: "DELETE", qty: 2 }),
    });
    expect(res.status).toBe(400);
    expect(up.received).toHaveLength(0);
  });

  test("a `_method` field in a multipart body is refused", async () => {
    up.received.length = 0;
    const form = new FormData();
    form.append("_method", "DELETE");
    form.append("qty", "2");
    const res = await fetch(`${gw.base}/c/api/orders/1`, {
      method: "POST",
      headers: { authorization: `Bearer ${human}` },
      body: form,
    });
    expect(res.status).toBe(400);
    expect(up.received).toHaveLength(0);
  });

  test("past the policy's bound, a `_method` part or member aborts the upload; one without streams through", async () => {
    const pad = "x".repeat(200 * 1024); // beyond limits.policy_body (64 KiB): streamed, not read whole
    const bodies: [string, BodyInit, Record<string, string>][] = [];
    const withField = new FormData();
    withField.append("pad", pad);
    withField.append("_method", "DELETE");
    bodies.push(["multipart", withField, {}]);
    bodies.push(["json", JSON.stringify({ pad, _method: "DELETE" }), { "content-type": "application/json" }]);
    bodies.push([
      "json, escaped key",
      JSON.stringify({ pad }).replace(/}$/, ',"\\u005fmethod":"DELETE"}'),
      { "content-type": "application/json" },
    ]);
    for (const [what, body, headers] of bodies) {
      up.received.length = 0;
      const res = await fetch(`${gw.base}/c/api/orders/1`, {
        method: "POST",
        headers: { authorization: `Bearer ${human}`, ...headers },
        body,
      }).catch((err) => ({ status: 0, err }));
      expect([what, res.status === 200]).toEqual([what, false]);
      // Whatever reached the upstream is a truncated body, never the override.
      for (const r of up.received) expect([what, r.body.includes("_method")]).toEqual([what, false]);
    }
    up.received.length = 0;
    const plain = new FormData();
    plain.append("pad", pad);
    plain.append("qty", "2");
    const ok = await fetch(`${gw.base}/c/api/orders/1`, {
      method: "POST",
      headers: { authorization: `Bearer ${human}` },
      body: plain,
    });
    expect(ok.status).toBe(200);
    expect(up.received).toHaveLength(1);
    expect(up.received[0]!.body.length).toBeGreaterThan(200 * 1024);
  });

  test("where the connection honours overrides, the overridden method is what is decided and executed", async () => {
    up.received.length = 0;
    // An agent's GET that says DELETE is a DELETE: review, and nothing reaches the upstream.
    for (const headers of [{ "x-http-method-override": "DELETE" }, {}] as Record<string, string>[]) {
      const target =
        "x-http-method-override" in headers ? "/c/override/orders/1" : "/c/override/orders/1?_method=DELETE";
      const res = await raw(target, agent, headers);
      expect(res.status).toBe(403);
      expect(res.body).toContain("custos.http_agent_write");
    }
    const form = await fetch(`${gw.base}/c/override/orders/1`, {
      method: "POST",
      headers: { authorization: `Bearer ${agent}`, "content-type": "application/x-www-form-urlencoded" },
      body: "_method=GET",
    });
    // A POST that says GET is decided as a GET, and the upstream executes a GET.
    expect(form.status).toBe(200);
    expect(up.received.map((r) => r.method)).toEqual(["GET"]);
    // A human's override is executed as that method.
    up.received.length = 0;
    expect((await raw("/c/override/orders/1", human, { "x-http-method-override": "DELETE" })).status).toBe(
      200,
    );
    expect(up.received[0]!.method).toBe("DELETE");
    expect(up.received[0]!.headers["x-http-method-override"]).toBeUndefined();
    // Two different overrides are ambiguous.
    expect(
      (await raw("/c/override/orders/1?_method=PUT", human, { "x-http-method-override": "DELETE" })).status,
    ).toBe(400);
  });
});

describe("request headers", () => {
  const smuggled = {
    cookie: "session=client-own-session",
    "x-forwarded-for": "10.9.9.9",
    "x-forwarded-host": "internal.example",
    "x-forwarded-proto": "https",
    "x-real-ip": "10.8.8.8",
    forwarded: "for=10.7.7.7;by=evil",
    "x-api-key": "client-own-api-key",
    "x-original-url": "/admin",
    "x-rewrite-url": "/admin",
    "x-client-ip": "10.6.6.6",
    "true-client-ip": "10.5.5.5",
    "x-tenant": "other-tenant",
    "x-custom-auth": "client-own",
    accept: "application/json",
    "accept-language": "en",
  };

  test("only the allow-list reaches the upstream; the client address is the gateway's", async () => {
    up.received.length = 0;
    const res = await raw("/c/api/orders", agent, smuggled);
    expect(res.status).toBe(200);
    const h = up.received[0]!.headers;
    const text = JSON.stringify(h);
    for (const v of [
      "client-own",
      "10.9.9.9",
      "10.8.8.8",
      "10.7.7.7",
      "10.6.6.6",
      "10.5.5.5",
      "internal.example",
      "/admin",
      "other-tenant",
    ])
      expect(text).not.toContain(v);
    expect(h["x-forwarded-for"]).toBe("127.0.0.1");
    expect(h.forwarded).toBe("for=127.0.0.1;proto=http");
    expect(h["x-forwarded-proto"]).toBe("http");
    expect(h.authorization).toBe(`Bearer ${SVC_TOKEN}`);
    expect(h.accept).toBe("application/json");
    expect(h["accept-language"]).toBe("en");
  });

  test("Cookie and listed headers pass only where the connection opts in", async () => {
    up.received.length = 0;
    expect((await raw("/c/opted/orders", agent, smuggled)).status).toBe(200);
    const h = up.received[0]!.headers;
    expect(h.cookie).toBe("session=client-own-session");
    expect(h["x-tenant"]).toBe("other-tenant");
    expect(h["x-api-key"]).toBeUndefined();
    expect(h["x-forwarded-for"]).toBe("127.0.0.1");
  });

  test("a masked identity's Range is not forwarded: values are not cut into unrecognisable pieces", async () => {
    up.received.length = 0;
    expect((await raw("/c/api/data/text", agent, { range: "bytes=10-20", "if-range": "x" })).status).toBe(
      200,
    );
    expect(up.received[0]!.headers.range).toBeUndefined();
    expect((await raw("/c/api/data/text", human, { range: "bytes=10-20" })).status).toBe(200);
    expect(up.received[1]!.headers.range).toBe("bytes=10-20");
  });

  test("a JSON body in a charset the policy would misread is refused", async () => {
    up.received.length = 0;
    const res = await fetch(`${gw.base}/c/api/orders`, {
      method: "POST",
      headers: { authorization: `Bearer ${human}`, "content-type": "application/json; charset=utf-16le" },
      body: Buffer.from('{"a":1}', "utf16le"),
    });
    expect(res.status).toBe(501);
    expect(up.received).toHaveLength(0);
    const ok = await fetch(`${gw.base}/c/api/orders`, {
      method: "POST",
      headers: { authorization: `Bearer ${human}`, "content-type": "application/json; charset=UTF-8" },
      body: '{"a":1}',
    });
    expect(ok.status).toBe(200);
  });

  test("an encoded request body the policy cannot read is refused", async () => {
    up.received.length = 0;
    const res = await fetch(`${gw.base}/c/api/orders`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${human}`,
        "content-type": "application/json",
        "content-encoding": "gzip",
      },
      body: Bun.gzipSync(Buffer.from('{"a":1}')),
    });
    expect(res.status).toBe(501);
    expect(up.received).toHaveLength(0);
  });
});
