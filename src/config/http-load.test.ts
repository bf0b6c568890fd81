import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CustosError } from "../core/errors.ts";
import { loadConfig, parseConfig } from "./load.ts";
import { parseSize } from "./size.ts";

const ENV = { BILLING_KEY: "bk-123456", BILLING_TOKEN: "bt-abcdef", BILLING_PW: "pw-secret" };

function http(patch: Record<string, unknown>) {
  return {
    connections: [
      {
        name: "billing",
        type: "http",
        target: "https://billing.internal",
        allow_groups: ["agents"],
        ...patch,
      },
    ],
  };
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CustosError);
    expect((err as CustosError).code).toBe("config.invalid");
    return (err as CustosError).message;
  }
  throw new Error("expected a config error");
}

describe("type: http connections", () => {
  test("a YAML file with every inject variant resolves, beside a postgres connection", () => {
    const d = mkdtempSync(join(tmpdir(), "custos-http-config-"));
    writeFileSync(join(d, "key.txt"), "file-key\n");
    const path = join(d, "custos.yaml");
    writeFileSync(
      path,
      `
connections:
  - {name: ledger, type: postgres, target: {host: db, database: l, user: app}, allow_groups: [agents]}
  - name: billing
    type: http
    target: https://billing.internal/api/
    inject: {header: X-Api-Key, value_env: BILLING_KEY}
    timeout: 5s
    limits: {policy_body: 16KiB, mask_body: 2MiB, record_body: 1024}
    allow_groups: [agents]
    labels: [regulated]
  - {name: b2, type: http, target: "http://127.0.0.1:9", inject: {bearer_env: BILLING_TOKEN}, allow_groups: [a]}
  - {name: b3, type: http, target: "http://127.0.0.1:9", inject: {basic: {user: svc, password_env: BILLING_PW}}, allow_groups: [a]}
  - {name: b4, type: http, target: "http://127.0.0.1:9", inject: {query: api_key, value_file: key.txt}, allow_groups: [a]}
  - {name: b5, type: http, target: "http://127.0.0.1:9", allow_groups: [a]}
`,
    );
    const cfg = loadConfig(path, ENV);
    expect(cfg.connections.map((c) => c.name)).toEqual(["ledger"]);
    const [billing, b2, b3, b4, b5] = cfg.httpConnections;
    expect(billing!.target).toBe("https://billing.internal/api");
    expect(billing!.timeoutMs).toBe(5000);
    expect(billing!.limits).toEqual({ policyBody: 16 << 10, maskBody: 2 << 20, recordBody: 1024 });
    expect(billing!.labels).toEqual(["regulated"]);
    expect(billing!.inject).toMatchObject({ kind: "header", name: "X-Api-Key" });
    expect(billing!.inject?.kind === "header" && billing!.inject.value.reveal()).toBe("bk-123456");
    expect(b2!.inject?.kind === "bearer" && b2!.inject.token.reveal()).toBe("bt-abcdef");
    expect(b3!.inject?.kind === "basic" && [b3!.inject.user, b3!.inject.password.reveal()]).toEqual([
      "svc",
      "pw-secret",
    ]);
    expect(b4!.inject?.kind === "query" && [b4!.inject.name, b4!.inject.value.reveal()]).toEqual([
      "api_key",
      "file-key",
    ]);
    expect(b5!.inject).toBeNull();
    expect(b5!.limits).toEqual({ policyBody: 64 << 10, maskBody: 8 << 20, recordBody: 16 << 10 });
    // Nothing of the client's request beyond the standard allow-list by default.
    expect(b5!.relay).toEqual({
      forwardHeaders: [],
      forwardCookies: false,
      methodOverride: false,
      unmaskedTypes: [],
    });
    expect(b5!.timeoutMs).toBe(30_000);
    // Secrets never print.
    expect(JSON.stringify(cfg)).not.toContain("bk-123456");
    expect(JSON.stringify(cfg)).not.toContain("pw-secret");
  });

  test.each([
    [
      { target: "ftp://x" },
      "config: connections[0].target: expected an http:// or https:// URL without query, fragment or credentials",
    ],
    [
      { target: "https://u:p@x" },
      "config: connections[0].target: expected an http:// or https:// URL without query, fragment or credentials",
    ],
    [
      { target: "https://x/?a=1" },
      "config: connections[0].target: expected an http:// or https:// URL without query, fragment or credentials",
    ],
    [{ inject: { header: "X-Api-Key" } }, "config: connections[0].inject: needs value_env or value_file"],
    [
      { inject: { header: "X-Api-Key", value_env: "BILLING_KEY", value_file: "f" } },
      "config: connections[0].inject.value_file: use either value_env or value_file, not both",
    ],
    [
      { inject: { header: "Bad Header", value_env: "BILLING_KEY" } },
      "config: connections[0].inject.header: expected an HTTP header name",
    ],
    [
      { inject: { header: "Host", value_env: "BILLING_KEY" } },
      "config: connections[0].inject.header: cannot inject the Host header",
    ],
    [
      { inject: { bearer_env: "MISSING" } },
      "config: connections[0].inject.bearer_env: environment variable MISSING is not set",
    ],
    [
      { inject: { basic: { user: "a:b", password_env: "BILLING_PW" } } },
      "config: connections[0].inject.basic.user: must not contain ':' (RFC 7617)",
    ],
    [{ inject: { cookie: "x" } }, "config: connections[0].inject.cookie: unknown key"],
    [
      { inject: {} },
      "config: connections[0].inject: give exactly one of header, query, bearer_env/bearer_file, basic",
    ],
    [
      { inject: { header: "A", query: "b", value_env: "BILLING_KEY" } },
      "config: connections[0].inject: give exactly one of",
    ],
    [
      { inject: { bearer_env: "BILLING_TOKEN", value_env: "BILLING_KEY" } },
      "config: connections[0].inject.value_env: does not go with bearer",
    ],
    [
      { timeout: "soon" },
      'config: connections[0].timeout: expected a duration like 500ms, 30s, 15m, 8h, got "soon"',
    ],
    [
      { limits: { mask_body: "lots" } },
      'config: connections[0].limits.mask_body: expected a size like 64KiB, 8MiB or a byte count, got "lots"',
    ],
    [{ limits: { record: 1 } }, "config: connections[0].limits.record: unknown key"],
    [
      { tls: { ca_file: "ca.pem" }, target: "http://x" },
      "config: connections[0].tls: tls settings need an https:// target",
    ],
    [
      { tls: { cert_file: "c.pem" } },
      "config: connections[0].tls.cert_file: cert_file and key_file go together",
    ],
    [
      { tls: { ca_file: "/nonexistent/ca.pem" } },
      "config: connections[0].tls.ca_file: cannot read /nonexistent/ca.pem (ENOENT)",
    ],
    [{ password: "x" }, "config: connections[0].password: unknown key"],
    [
      { forward_headers: ["x-tenant", "X-Forwarded-For"] },
      "config: connections[0].forward_headers[1]: X-Forwarded-For is set by the gateway, never forwarded from the client",
    ],
    [
      { forward_headers: ["cookie"] },
      "config: connections[0].forward_headers[0]: cookie is set by the gateway",
    ],
    [
      { inject: { header: "X-Api-Key", value_env: "BILLING_KEY" }, forward_headers: ["x-api-key"] },
      "config: connections[0].forward_headers[0]: x-api-key is set by the gateway",
    ],
    [
      { unmasked_types: ["png"] },
      "config: connections[0].unmasked_types[0]: expected type/subtype or type/*",
    ],
  ])("%j is refused naming the key", (patch, message) => {
    expect(errorOf(() => parseConfig(http(patch), "/tmp", ENV))).toStartWith(message);
  });

  test("a TLS file that is not PEM is refused", () => {
    const d = mkdtempSync(join(tmpdir(), "custos-http-tls-"));
    writeFileSync(join(d, "ca.pem"), "not a cert");
    expect(errorOf(() => parseConfig(http({ tls: { ca_file: "ca.pem" } }), d, ENV))).toBe(
      `config: connections[0].tls.ca_file: ${join(d, "ca.pem")} holds no PEM certificate`,
    );
  });

  test("names are unique across postgres and http connections", () => {
    const cfg = {
      connections: [
        { name: "x", type: "postgres", target: { host: "h", database: "d", user: "u" }, allow_groups: ["a"] },
        { name: "x", type: "http", target: "http://127.0.0.1:1", allow_groups: ["a"] },
      ],
    };
    expect(errorOf(() => parseConfig(cfg, "/tmp", ENV))).toBe(
      'config: connections[1].name: duplicate connection name "x" (also connections[0])',
    );
  });

  test("sizes", () => {
    expect(parseSize("64KiB")).toBe(65536);
    expect(parseSize("8MiB")).toBe(8 << 20);
    expect(parseSize(12)).toBe(12);
    expect(parseSize("12")).toBe(12);
    expect(parseSize("1.5MiB")).toBeNull();
    expect(parseSize(-1)).toBeNull();
    expect(parseSize("3 parsecs")).toBeNull();
  });
});
